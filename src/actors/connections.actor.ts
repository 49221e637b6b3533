import { createActor, fromCallback } from 'xstate';
import type { AnyActorLogic, AnyActorRef, CallbackActorLogic } from 'xstate';
import { CloseCode } from '../protocol/close-codes';
import {
  closeRecord,
  emptyCounters,
  isHibernation,
  UNDECIDED,
  type CloseRecord,
  type ConnectionEvent,
  type ConnectionOutput,
  type ConnectionsCommand,
  type Hibernation,
  type SupervisorEvent,
} from '../protocol/events';
import type { ConnectionSocket, SocketBridgeFactory } from './socket.bridge';

/** How the pool starts the connections of one protocol. */
export interface ConnectionKind {
  /** The connection logic (the connection machine with its protocol provided). */
  logic: AnyActorLogic;
  /** Makes each connection's socket bridge, handed to it as `input.socket` and disposed of when it ends. */
  socket?: SocketBridgeFactory;
  /**
   * Its connections open hibernating: the pool has the bridge complete the
   * upgrade, and no actor starts until the first event for the connection.
   * For connections an actor would have nothing to do for until then: no
   * `authenticate` hook to run, a protocol that starts with the first
   * message, hibernation on. Needs `socket`.
   */
  opensAsleep?: boolean;
}

/** Lifecycle hooks (logs, metrics, the inspector); never called per message. */
export interface ConnectionPoolHooks {
  /** A connection has been accepted: its actor has started, or it has opened hibernating. */
  onAccepted?: (id: string) => void;
  /** A connection actor has ended, with its close record (code 1011 if it failed instead). */
  onEnded?: (record: CloseRecord) => void;
}

/** One connection as the pool holds it: its actor while awake, what it needs to wake while it hibernates. */
interface Held {
  id: string;
  kind: ConnectionKind;
  transport: unknown;
  socket: ConnectionSocket | undefined;
  actor: AnyActorRef | null;
  resume: Hibernation | null;
}

/** Connections are named `conn-<n>`, n counting from 1 in the order they were accepted. */
export const CONNECTION_ID_PREFIX = 'conn-';

/** The connection pool: the actor the supervisor invokes, and the door the listener hands admitted upgrades through. */
export interface ConnectionPool {
  /** The supervisor's `connections` actor: it takes `connections.shutdown` and `connections.terminate`, and reports the drain. */
  logic: CallbackActorLogic<ConnectionsCommand, void>;
  /**
   * Starts the connection of an admitted upgrade, named `conn-<n>`, and
   * returns its id; null while the pool is not running (the upgrade is to be
   * refused). The listener calls it directly: no supervisor step per connection.
   */
  accept(transport: unknown, protocol: string): string | null;
  /** Connections accepted since the pool started. */
  readonly accepted: number;
  /** Connections accepted and not yet ended: awake, hibernating, or still upgrading. */
  readonly open: number;
}

/** What the connection pool counts, for metrics, logs and the inspector. */
export type PoolCounts = Pick<ConnectionPool, 'accepted' | 'open'>;

/**
 * Starts and holds the connection actors. The listener hands it every
 * admitted upgrade (`accept`), with no supervisor step in between: a
 * transition of the supervisor per accepted connection and per ended one
 * cost about a fifth of a handshake's server CPU, and the supervisor decides
 * nothing about a connection until the server drains. The supervisor hears
 * from the pool only then: when told `connections.shutdown` the pool answers
 * `connections.draining` with how many connections are open, and from then
 * on reports each connection's end (`connection.ended`, with its record).
 *
 * Each connection actor is created with the pool as its parent, so it
 * belongs to the supervisor's system (inspection sees it there;
 * `system.get(id)` finds it). Its end reaches the pool, not a machine: the
 * parent of a connection receives `xstate.done.actor.<id>`, an event type per
 * connection, and XState memoises a machine's transition candidates per event
 * type and state node for ever.
 *
 * A connection actor that hibernates (its output is a `Hibernation`) has
 * ended, but its connection has not: the pool keeps its socket bridge and
 * its resume data, and the first event the bridge reports for it (a message,
 * a failure, an unanswered heartbeat) or the server sends it (shutdown)
 * starts a fresh actor with `input.resume`, which goes straight to `open`,
 * and hands it that event. A hibernating connection whose socket closes ends
 * without waking: its close record is the one an actor woken for the close
 * would make at once (`closeRecord`, nothing decided), so no actor is made
 * only to end.
 *
 * A kind whose connections `opensAsleep` opens them hibernating: no actor
 * until the first event. A connection that opens and closes without a
 * message costs no actor at all (the README's Performance section says what
 * that does to handshakes and idle memory).
 */
export function createConnectionPool(
  /** How to start the connections of each protocol, by name; or one kind for every protocol. */
  connections: ReadonlyMap<string, ConnectionKind> | ConnectionKind,
  /** Input every connection gets besides its id and transport. */
  common: { authenticate?: boolean; maxRestarts?: number; maxTopics?: number } = {},
  hooks: ConnectionPoolHooks = {},
): ConnectionPool {
  const held = new Map<string, Held>();
  let accepted = 0;
  /** Set while the pool's actor runs: what starts a connection. */
  let spawn: ((connection: Held) => void) | null = null;

  const logic = fromCallback<ConnectionsCommand, void>(({ receive, self, sendBack }) => {
    /** Set once the supervisor drains: from then on it is told of every end. */
    let draining = false;
    const send = (connection: Held, event: ConnectionEvent): void => {
      if (connection.actor === null) {
        // Closed while hibernating: the record is the one a woken actor would make at once (open, nothing decided).
        if (event.type === 'socket.closed') return release(connection, closeRecord(connection.id, UNDECIDED, event));
        wake(connection);
      }
      connection.actor!.send(event);
    };
    const broadcast = (type: 'server.shutdown' | 'server.terminate'): void => {
      for (const connection of [...held.values()]) send(connection, { type });
    };
    const release = (connection: Held, record: CloseRecord): void => {
      held.delete(connection.id);
      connection.socket?.dispose();
      hooks.onEnded?.(record);
      if (draining) sendBack({ type: 'connection.ended', record } satisfies SupervisorEvent);
    };
    const start = (connection: Held, resume: Hibernation | undefined): void => {
      const { id, kind, transport, socket } = connection;
      // The systemId makes the connection findable by id: `system.get('conn-1')`.
      const actor = createActor(kind.logic, { id, systemId: id, parent: self, input: { id, transport, socket, ...common, resume } });
      connection.actor = actor;
      actor.subscribe({
        complete: () => {
          const output = actor.getSnapshot().output as ConnectionOutput;
          if (!isHibernation(output)) return release(connection, output);
          connection.actor = null;
          connection.resume = output;
          socket?.hibernate();
        },
        error: (error) => release(connection, { id, code: CloseCode.InternalError, reason: String(error), clean: false, ...emptyCounters() }),
      });
      actor.start();
    };
    const wake = (connection: Held): void => {
      const resume = connection.resume!;
      connection.resume = null;
      connection.socket?.wake();
      start(connection, resume);
    };

    spawn = (connection) => {
      const { id, kind, transport } = connection;
      const asleep = kind.opensAsleep === true && kind.socket !== undefined;
      // Resumed from nothing when it wakes; set before the bridge, which may report the socket's end.
      if (asleep) connection.resume = { id, hibernated: true, protocol: null, identity: null };
      held.set(id, connection);
      // The bridge reports to the actor (waking it if it hibernates), which exists before the bridge is first asked to do anything.
      connection.socket = kind.socket?.(id, transport, (event: ConnectionEvent) => send(connection, event), asleep);
      if (!asleep) start(connection, undefined);
      hooks.onAccepted?.(id);
    };

    receive((command) => {
      switch (command.type) {
        case 'connections.shutdown':
          draining = true;
          // Before any end it causes: the supervisor counts the drain down from this.
          sendBack({ type: 'connections.draining', open: held.size } satisfies SupervisorEvent);
          broadcast('server.shutdown');
          break;
        case 'connections.terminate':
          broadcast('server.terminate');
          break;
      }
    });

    // The supervisor has stopped (drain over, or forced): whatever is still open is terminated.
    // (An actor with a parent cannot be stopped from outside; it ends itself once its socket is gone.)
    return () => {
      spawn = null;
      broadcast('server.terminate');
    };
  });

  return {
    logic,
    accept(transport, protocol) {
      if (spawn === null) return null;
      const kind = connections instanceof Map ? connections.get(protocol) : (connections as ConnectionKind);
      if (kind === undefined) throw new Error(`statewire: no connection logic for protocol "${protocol}"`);
      const id = `${CONNECTION_ID_PREFIX}${++accepted}`;
      spawn({ id, kind, transport, socket: undefined, actor: null, resume: null });
      return id;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return held.size;
    },
  };
}
