import { and, assertEvent, assign, enqueueActions, fromCallback, fromPromise, not, setup, stateIn } from 'xstate';
import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { CloseCode } from '../src/protocol/close-codes';
import { closeRecord } from '../src/protocol/events';
import type { CloseRecord, ConnectionEvent, ConnectionOutput, Hibernation, ProtocolActorInput, SocketPort } from '../src/protocol/events';

/** What the supervisor hands a new connection actor. */
export interface ConnectionInput {
  id: string;
  /** The upgrade request and its socket, opaque to the machine; only the socket bridge and `authenticate` look inside. */
  transport: unknown;
  /**
   * The socket bridge: the only code that touches the socket. The connection
   * tells it what to do (`SocketCommand`); it reports back with events sent to
   * the connection actor. A plain object, not an actor: a connection costs one
   * actor fewer to start, to stop and to hold.
   */
  socket: SocketPort;
  /** Whether an `authenticate` hook decides on the upgrade. Default false: the connection goes straight to upgrading. */
  authenticate?: boolean;
  /** Protocol restarts allowed within `restartWindow` before the connection closes with 1011. Default 5. */
  maxRestarts?: number;
  /** Handed to the protocol: topics it may hold. Default 100. */
  maxTopics?: number;
  /**
   * A hibernated connection waking up: what its last actor output. The
   * connection goes straight to `open`, its protocol resumed from its
   * persisted snapshot, with its identity.
   */
  resume?: Hibernation;
}

/** How `authenticate` refuses an upgrade: with an HTTP status (401 by default, or 403). */
export interface AuthRejection {
  status?: number;
  message?: string;
}

export interface ConnectionContext {
  id: string;
  transport: unknown;
  socket: SocketPort;
  authenticate: boolean;
  /** What `authenticate` returned; handed to the protocol as input. */
  identity: unknown;
  /** The protocol actor, once the upgrade is under way. */
  protocol: AnyActorRef | null;
  /** A woken connection's protocol snapshot, until the protocol is started from it. */
  restore: unknown;
  /** Whether this actor woke from hibernation rather than opening the socket. */
  resumed: boolean;
  /** Protocol restarts within the current `restartWindow`. */
  restarts: number;
  maxRestarts: number;
  maxTopics: number;
  /** The close code and reason statewire chose, once it has decided to close. */
  code: number | null;
  reason: string;
  record: CloseRecord | null;
}

function notProvided<TEvent extends { type: string }, TInput>(name: string) {
  return fromCallback<TEvent, TInput>(() => {
    throw new Error(`statewire: the connection machine's "${name}" actor was not provided`);
  });
}

function protocolInput(context: ConnectionContext): ProtocolActorInput {
  const input: ProtocolActorInput = { connectionId: context.id, identity: context.identity, maxTopics: context.maxTopics };
  if (context.restore !== null) input.restore = context.restore;
  return input;
}

function socketOf(input: ConnectionInput): SocketPort {
  if (typeof input.socket?.send !== 'function') throw new Error('statewire: a connection needs its socket bridge as input.socket');
  return input.socket;
}

/**
 * One connection: `connecting -> open -> closing -> closed`. `connecting`
 * covers authentication and the upgrade; `open` runs three regions at once:
 * the heartbeat, the outbox's flow (a slow consumer shows as `congested`)
 * and the protocol actor, started as the connection opens (or, for a lazy
 * protocol, with the first inbound message) and restarted fresh when it
 * crashes until its budget is spent. It sees only lifecycle and control events; data messages go from
 * the socket bridge straight to the protocol actor and from it straight into
 * the outbox.
 *
 * The socket bridge comes with the input (`socket`). Provide `protocol` (a
 * protocol machine) and `authenticate` with `.provide({ actors })`, and the guard
 * `startsLazily` for a protocol that starts with the first message; delays
 * `heartbeatInterval`, `pongTimeout`, `closeTimeout` and `restartWindow`
 * likewise.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent | { type: 'protocol.restartExpired' },
    input: {} as ConnectionInput,
    output: {} as ConnectionOutput,
  },
  actors: {
    protocol: notProvided<{ type: string }, ProtocolActorInput>('protocol') as AnyActorLogic,
    authenticate: fromPromise<unknown, { transport: unknown }>(async () => null),
  },
  delays: {
    heartbeatInterval: 25_000,
    pongTimeout: 10_000,
    closeTimeout: 5_000,
    restartWindow: 10_000,
  },
  guards: {
    isSlowConsumer: ({ context }) => context.code === CloseCode.SlowConsumer,
    skipsAuthentication: ({ context }) => !context.authenticate,
    hasRestartBudget: ({ context }) => context.restarts < context.maxRestarts,
    // Provided per protocol: true when the protocol starts with the first inbound message (`socket.data`), not as the connection opens.
    startsLazily: () => false,
    isResuming: ({ context }) => context.resumed,
    hasProtocolToRestore: ({ context }) => context.restore !== null,
    isQuiet: ({ event }) => event.type === 'socket.pong' && event.quiet === true,
    hasNoRestartPending: ({ context }) => context.restarts === 0,
    // Provided by the server: whether quiet connections hibernate (default true there) and whether the
    // protocol can be persisted (no delayed events of its own pending). Here: never, and only a protocol not started.
    hibernates: () => false,
    protocolCanHibernate: ({ context }) => context.protocol === null,
  },
  actions: {
    recordIdentity: assign(({ event }) => ({ identity: (event as unknown as { output: unknown }).output })),
    startProtocol: enqueueActions(({ enqueue, context }) => {
      enqueue.assign({
        protocol: ({ spawn }) => spawn('protocol', { id: 'protocol', input: protocolInput(context) }),
        restore: null,
      });
      // Handed to the bridge during the transition: the spawned actor starts only once the transition is over,
      // so the bridge listens before the protocol's first entry actions emit anything (a greeting, say).
      enqueue(({ context: next }) => next.socket.send({ type: 'socket.protocol', protocol: next.protocol, restarted: false }));
    }),
    upgrade: ({ context }) => context.socket.send({ type: 'socket.upgrade' }),
    refuse: ({ context }) => context.socket.send({ type: 'socket.refuse', status: context.code! - 4000, message: context.reason }),
    decideRejection: assign(({ event }) => {
      const error = (event as unknown as { error: AuthRejection | undefined }).error;
      const status = error?.status === 403 ? 403 : 401;
      return { code: 4000 + status, reason: error?.message ?? (status === 403 ? 'forbidden' : 'unauthorized') };
    }),
    decideUnavailable: assign({ code: CloseCode.UpgradeUnavailable, reason: 'server shutting down' }),
    restartProtocol: enqueueActions(({ enqueue, context }) => {
      enqueue.stopChild('protocol');
      enqueue.assign({
        restarts: context.restarts + 1,
        protocol: ({ spawn }) => spawn('protocol', { id: 'protocol', input: protocolInput(context) }),
      });
      enqueue(({ context: next }) => next.socket.send({ type: 'socket.protocol', protocol: next.protocol, restarted: true }));
      enqueue.raise({ type: 'protocol.restartExpired' }, { delay: 'restartWindow' });
    }),
    forgetProtocol: assign({ protocol: null }),
    forgetRestart: assign(({ context }) => ({ restarts: context.restarts - 1 })),
    sendPing: ({ context }) => context.socket.send({ type: 'socket.ping' }),
    // Every way into `closing` decides the code first.
    sendClose: ({ context }) => context.socket.send({ type: 'socket.close', code: context.code!, reason: context.reason }),
    terminateSocket: ({ context }) => context.socket.send({ type: 'socket.terminate' }),
    decideShutdown: assign({ code: CloseCode.GoingAway, reason: 'server shutting down' }),
    decideProtocolClose: assign(({ event }) => {
      assertEvent(event, 'protocol.close');
      return { code: event.code, reason: event.reason };
    }),
    decideFailure: assign(({ event }) => {
      assertEvent(event, 'socket.failed');
      return { code: event.failure.closeCode, reason: event.failure.message };
    }),
    decideProtocolFailure: assign({ code: CloseCode.InternalError, reason: 'protocol failed beyond its restart budget', protocol: null }),
    decideSlowConsumer: assign({ code: CloseCode.SlowConsumer, reason: 'slow consumer: outbox limit reached' }),
    decideHeartbeatTimeout: assign({ code: CloseCode.HeartbeatTimeout, reason: 'no pong within pongTimeout' }),
    // The protocol's snapshot is read as the connection hibernates; XState stops the protocol actor right after.
    recordHibernation: assign(({ context }) => ({ restore: context.protocol?.getPersistedSnapshot() ?? null })),
    decideCloseTimeout: assign({ code: CloseCode.CloseTimeout, reason: 'no close frame within closeTimeout' }),
    decideDrainTimeout: assign({ code: CloseCode.DrainTimeout, reason: 'drain deadline passed' }),
    recordClose: assign(({ context, event }) => {
      assertEvent(event, 'socket.closed');
      return { record: closeRecord(context.id, context, event) };
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    id: input.id,
    // Checked here, so a connection without one fails as it starts, saying why.
    socket: socketOf(input),
    transport: input.transport,
    authenticate: input.authenticate ?? false,
    identity: input.resume?.identity ?? null,
    protocol: null,
    restore: input.resume?.protocol ?? null,
    resumed: input.resume !== undefined,
    restarts: 0,
    maxRestarts: input.maxRestarts ?? 5,
    maxTopics: input.maxTopics ?? 100,
    code: null,
    reason: '',
    record: null,
  }),
  on: {
    'socket.closed': { target: '.closed', actions: 'recordClose' },
    // Outside `open` (where it is restarted) a protocol failure cannot take the connection down with it:
    // closing and terminating, on their way out already, let go of it.
    'xstate.error.actor.protocol': { actions: 'forgetProtocol' },
  },
  initial: 'connecting',
  states: {
    connecting: {
      initial: 'admitting',
      states: {
        admitting: {
          always: [
            // A connection waking from hibernation: its socket is open already.
            { guard: 'isResuming', target: '#connection.open' },
            { guard: 'skipsAuthentication', target: 'upgrading' },
            { target: 'authenticating' },
          ],
        },
        authenticating: {
          invoke: {
            src: 'authenticate',
            input: ({ context }) => ({ transport: context.transport }),
            onDone: { target: 'upgrading', actions: 'recordIdentity' },
            onError: { target: '#connection.rejected', actions: 'decideRejection' },
          },
          on: {
            'server.shutdown': { target: '#connection.rejected', actions: 'decideUnavailable' },
          },
        },
        upgrading: {
          entry: 'upgrade',
          on: {
            'socket.open': '#connection.open',
            'server.shutdown': { target: '#connection.closing', actions: 'decideShutdown' },
          },
        },
      },
      on: {
        'server.terminate': { target: 'terminating', actions: 'decideDrainTimeout' },
      },
    },
    rejected: {
      entry: 'refuse',
    },
    open: {
      type: 'parallel',
      states: {
        heartbeat: {
          initial: 'idle',
          states: {
            idle: {
              after: { heartbeatInterval: 'awaitingPong' },
            },
            awaitingPong: {
              entry: 'sendPing',
              on: {
                'socket.pong': [
                  // Quiet for a whole heartbeat period, nothing queued, no restart pending: the actor ends and the socket stays.
                  {
                    guard: and(['hibernates', 'isQuiet', stateIn('#connection.open.flow.flowing'), 'hasNoRestartPending', 'protocolCanHibernate']),
                    target: '#connection.hibernated',
                  },
                  { target: 'idle' },
                ],
              },
              after: {
                pongTimeout: { target: '#connection.terminating', actions: 'decideHeartbeatTimeout' },
              },
            },
          },
        },
        flow: {
          initial: 'flowing',
          states: {
            flowing: { on: { 'outbox.congested': 'congested' } },
            congested: { on: { 'outbox.flowing': 'flowing' } },
          },
        },
        protocol: {
          initial: 'dormant',
          states: {
            // The protocol starts as the connection opens; a lazy one waits here for the first inbound message.
            dormant: {
              always: [
                { guard: 'hasProtocolToRestore', target: 'running', actions: 'startProtocol' },
                { guard: not('startsLazily'), target: 'running', actions: 'startProtocol' },
              ],
              on: { 'socket.data': { target: 'running', actions: 'startProtocol' } },
            },
            running: {
              on: {
                'xstate.error.actor.protocol': [
                  { guard: 'hasRestartBudget', target: 'running', reenter: true, actions: 'restartProtocol' },
                  { target: '#connection.closing', actions: 'decideProtocolFailure' },
                ],
                'protocol.restartExpired': { actions: 'forgetRestart' },
              },
            },
          },
        },
      },
      on: {
        'server.shutdown': { target: 'closing', actions: 'decideShutdown' },
        'server.terminate': { target: 'terminating', actions: 'decideDrainTimeout' },
        'protocol.close': { target: 'closing', actions: 'decideProtocolClose' },
        'socket.failed': { target: 'closing', actions: 'decideFailure' },
        'outbox.overflow': { target: 'closing', actions: 'decideSlowConsumer' },
        'socket.unresponsive': { target: 'terminating', actions: 'decideHeartbeatTimeout' },
      },
    },
    closing: {
      entry: 'sendClose',
      after: {
        closeTimeout: [
          { guard: 'isSlowConsumer', target: 'terminating' },
          { target: 'terminating', actions: 'decideCloseTimeout' },
        ],
      },
      on: {
        'server.terminate': { target: 'terminating', actions: 'decideDrainTimeout' },
      },
    },
    terminating: {
      entry: 'terminateSocket',
    },
    closed: {
      type: 'final',
    },
    // Quiet: the actor ends, the socket bridge keeps the socket, and the next event for it starts a fresh actor from here.
    hibernated: {
      type: 'final',
      entry: 'recordHibernation',
    },
  },
  output: ({ context }): ConnectionOutput =>
    context.record ?? { id: context.id, hibernated: true, protocol: context.restore, identity: context.identity },
});
