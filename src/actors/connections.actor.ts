import { createActor, fromCallback } from 'xstate';
import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { CloseCode } from '../protocol/close-codes';
import { emptyCounters, type CloseRecord, type ConnectionEvent, type ConnectionsCommand } from '../protocol/events';
import type { SocketBridgeFactory } from './socket.bridge';

/** How the pool starts the connections of one protocol. */
export interface ConnectionKind {
  /** The connection logic (the connection machine with its protocol provided). */
  logic: AnyActorLogic;
  /** Makes each connection's socket bridge, handed to it as `input.socket` and disposed of when it ends. */
  socket?: SocketBridgeFactory;
}

export interface ConnectionPoolInput {
  /** The actor the connections report to: their completion and errors reach it as `xstate.done.actor.<id>` and `xstate.error.actor.<id>`. */
  supervisor: AnyActorRef;
}

/** Lifecycle hooks (logs, metrics, the inspector); never called per message. */
export interface ConnectionPoolHooks {
  /** A connection actor has started. */
  onStarted?: (id: string) => void;
  /** A connection actor has ended, with its close record (code 1011 if it failed instead). */
  onEnded?: (record: CloseRecord) => void;
}

/**
 * Starts and holds the connection actors the supervisor decides to accept.
 * Each is created with the supervisor as its parent, so the supervisor
 * observes its end exactly as it would a spawned child's, and inspection sees
 * it in the supervisor's system. The pool, not the supervisor's snapshot,
 * holds the references: XState copies a snapshot's `children` on every spawn
 * and stop, which made accepting a connection O(open connections).
 */
export function createConnectionPool(
  /** How to start the connections of each protocol, by name; or one kind for every protocol. */
  connections: ReadonlyMap<string, ConnectionKind> | ConnectionKind,
  /** Input every connection gets besides its id and transport. */
  common: { authenticate?: boolean; maxRestarts?: number; maxTopics?: number } = {},
  hooks: ConnectionPoolHooks = {},
) {
  return fromCallback<ConnectionsCommand, ConnectionPoolInput>(({ input, receive }) => {
    const live = new Map<string, AnyActorRef>();
    const broadcast = (type: 'server.shutdown' | 'server.terminate'): void => {
      for (const actor of [...live.values()]) actor.send({ type });
    };

    receive((command) => {
      switch (command.type) {
        case 'connections.spawn': {
          const { id, transport, protocol } = command;
          const kind = connections instanceof Map ? connections.get(protocol) : (connections as ConnectionKind);
          if (kind === undefined) throw new Error(`statewire: no connection logic for protocol "${protocol}"`);
          // The bridge reports to the actor, which exists before the bridge is first asked to do anything.
          let actor: AnyActorRef | null = null;
          const socket = kind.socket?.(id, transport, (event: ConnectionEvent) => actor!.send(event));
          // The systemId makes the connection findable by id: `system.get('conn-1')`.
          actor = createActor(kind.logic, { id, systemId: id, parent: input.supervisor, input: { id, transport, socket, ...common } });
          live.set(id, actor);
          const release = (record: CloseRecord): void => {
            live.delete(id);
            socket?.dispose();
            hooks.onEnded?.(record);
          };
          actor.subscribe({
            complete: () => release(actor.getSnapshot().output as CloseRecord),
            error: (error) => release({ id, code: CloseCode.InternalError, reason: String(error), clean: false, ...emptyCounters() }),
          });
          actor.start();
          hooks.onStarted?.(id);
          break;
        }
        case 'connections.shutdown':
          broadcast('server.shutdown');
          break;
        case 'connections.terminate':
          broadcast('server.terminate');
          break;
      }
    });

    // The supervisor has stopped (drain over, or forced): whatever is still open is terminated.
    // (An actor with a parent cannot be stopped from outside; it ends itself once its socket is gone.)
    return () => broadcast('server.terminate');
  });
}
