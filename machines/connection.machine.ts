import { assertEvent, assign, fromCallback, sendTo, setup } from 'xstate';
import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { CloseCode } from '../src/protocol/close-codes';
import type {
  CloseRecord,
  ConnectionEvent,
  ProtocolInput,
  SocketCommand,
} from '../src/protocol/events';

/** What the supervisor hands a new connection actor. */
export interface ConnectionInput {
  id: string;
  /** The accepted socket, opaque to the machine; only the socket bridge looks inside. */
  transport: unknown;
}

/** What the socket bridge actor receives as input. */
export interface SocketBridgeInput {
  id: string;
  transport: unknown;
  /** The protocol actor the bridge hands inbound messages to, and whose emitted events it wires. */
  protocol: AnyActorRef;
}

export interface ConnectionContext {
  id: string;
  transport: unknown;
  protocol: AnyActorRef;
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

/**
 * One connection: `connecting -> open -> closing -> closed`. It sees only
 * lifecycle and control events; data messages go from the socket bridge
 * straight to the protocol actor and from it straight into the outbox.
 *
 * Provide `socket` (the bridge to a real socket) and `protocol` (a protocol
 * machine) with `.provide({ actors })`; delays `heartbeatInterval`,
 * `pongTimeout` and `closeTimeout` likewise.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
    output: {} as CloseRecord,
  },
  actors: {
    socket: notProvided<SocketCommand, SocketBridgeInput>('socket'),
    protocol: notProvided<ProtocolInput, void>('protocol') as AnyActorLogic,
  },
  delays: {
    heartbeatInterval: 25_000,
    pongTimeout: 10_000,
    closeTimeout: 5_000,
  },
  guards: {
    isSlowConsumer: ({ context }) => context.code === CloseCode.SlowConsumer,
  },
  actions: {
    sendPing: sendTo('socket', { type: 'socket.ping' }),
    sendClose: sendTo('socket', ({ context }) => ({
      type: 'socket.close' as const,
      code: context.code ?? CloseCode.Normal,
      reason: context.reason,
    })),
    terminateSocket: sendTo('socket', { type: 'socket.terminate' }),
    decideShutdown: assign({ code: CloseCode.GoingAway, reason: 'server shutting down' }),
    decideProtocolClose: assign(({ event }) => {
      assertEvent(event, 'protocol.close');
      return { code: event.code, reason: event.reason };
    }),
    decideFailure: assign(({ event }) => {
      assertEvent(event, 'socket.failed');
      return { code: event.failure.closeCode, reason: event.failure.message };
    }),
    decideProtocolFailure: assign({ code: CloseCode.InternalError, reason: 'protocol failed' }),
    decideSlowConsumer: assign({ code: CloseCode.SlowConsumer, reason: 'slow consumer: outbox limit reached' }),
    decideHeartbeatTimeout: assign({ code: CloseCode.HeartbeatTimeout, reason: 'no pong within pongTimeout' }),
    decideCloseTimeout: assign({ code: CloseCode.CloseTimeout, reason: 'no close frame within closeTimeout' }),
    decideDrainTimeout: assign({ code: CloseCode.DrainTimeout, reason: 'drain deadline passed' }),
    recordClose: assign(({ context, event }) => {
      assertEvent(event, 'socket.closed');
      const e = event;
      // A close statewire decided wins over what the peer echoed; otherwise the peer's code.
      const code = context.code ?? e.code;
      const terminated = code === CloseCode.HeartbeatTimeout || code === CloseCode.CloseTimeout || code === CloseCode.DrainTimeout;
      return {
        record: {
          id: context.id,
          code,
          reason: context.code === null ? e.reason : context.reason,
          clean: !terminated && e.code !== CloseCode.Abnormal,
          ...e.counters,
        },
      };
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input, spawn }) => ({
    id: input.id,
    transport: input.transport,
    protocol: spawn('protocol', { id: 'protocol' }),
    code: null,
    reason: '',
    record: null,
  }),
  invoke: {
    id: 'socket',
    src: 'socket',
    input: ({ context }) => ({ id: context.id, transport: context.transport, protocol: context.protocol }),
  },
  on: {
    'socket.closed': { target: '.closed', actions: 'recordClose' },
  },
  initial: 'connecting',
  states: {
    connecting: {
      on: {
        'socket.open': 'open',
        'server.shutdown': { target: 'closing', actions: 'decideShutdown' },
        'server.terminate': { target: 'terminating', actions: 'decideDrainTimeout' },
      },
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
              on: { 'socket.pong': 'idle' },
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
      },
      on: {
        'server.shutdown': { target: 'closing', actions: 'decideShutdown' },
        'server.terminate': { target: 'terminating', actions: 'decideDrainTimeout' },
        'protocol.close': { target: 'closing', actions: 'decideProtocolClose' },
        'socket.failed': { target: 'closing', actions: 'decideFailure' },
        'outbox.overflow': { target: 'closing', actions: 'decideSlowConsumer' },
        'xstate.error.actor.protocol': { target: 'closing', actions: 'decideProtocolFailure' },
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
  },
  output: ({ context }) => context.record!,
});
