import { assertEvent, assign, fromCallback, sendTo, setup } from 'xstate';
import type {
  CloseRecord,
  ConnectionsCommand,
  ListenAddress,
  ListenerCommand,
  ShutdownSummary,
  SupervisorEvent,
} from '../src/protocol/events';

export interface SupervisorContext {
  address: ListenAddress | null;
  /**
   * Connections the drain still waits for: null until the connection pool
   * answers the shutdown with how many are open, then counted down as each
   * ends. The supervisor counts nothing per connection before the drain.
   */
  open: number | null;
  /** Records of the connections that ended during the drain, newest first, as an immutable list: appending is O(1). */
  drained: DrainedList;
  terminated: number;
  forced: boolean;
  error: string | null;
}

/** An immutable singly linked list: each drained record points to the one before it. */
export type DrainedList = { record: CloseRecord; previous: DrainedList } | null;

/** The records of a drained list, oldest first. */
export function drainedRecords(list: DrainedList): CloseRecord[] {
  const records: CloseRecord[] = [];
  for (let node = list; node !== null; node = node.previous) records.push(node.record);
  return records.reverse();
}

function notProvided<TEvent extends { type: string }, TInput = void>(name: string) {
  return fromCallback<TEvent, TInput>(() => {
    throw new Error(`statewire: the supervisor machine's "${name}" actor was not provided`);
  });
}

/**
 * The supervisor: `starting -> listening -> draining -> stopped`; past the
 * drain deadline it passes through `terminating`, where the connections still
 * open are terminated and report their close records. It owns the listener,
 * the signal source and the connection pool (all invoked), the drain and its
 * deadline. While listening it takes no step per connection: the listener
 * hands admitted upgrades to the pool itself. When the drain begins, the
 * pool answers the shutdown with how many connections are open
 * (`connections.draining`) and reports each one's end (`connection.ended`,
 * with its record); the drain is over when none is left.
 *
 * Provide `listener`, `signals` and `connections` actors and the
 * `drainTimeout` delay with `.provide()`.
 */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    output: {} as ShutdownSummary,
  },
  actors: {
    listener: notProvided<ListenerCommand>('listener'),
    signals: notProvided<{ type: string }>('signals'),
    connections: notProvided<ConnectionsCommand>('connections'),
  },
  delays: {
    drainTimeout: 10_000,
    /** How long terminated connections get to report their close records before the supervisor stops without them. */
    terminateTimeout: 1_000,
  },
  guards: {
    hasNoOpenConnections: ({ context }) => context.open === 0,
  },
  actions: {
    recordAddress: assign(({ event }) => {
      assertEvent(event, 'listener.ready');
      return { address: event.address };
    }),
    recordListenFailure: assign(({ event }) => {
      assertEvent(event, 'listener.failed');
      return { error: event.message };
    }),
    recordOpen: assign(({ event }) => {
      assertEvent(event, 'connections.draining');
      return { open: event.open };
    }),
    // The pool answers the shutdown (`connections.draining`) before it reports any end: `open` is set by then.
    countEnded: assign(({ context }) => ({ open: context.open! - 1 })),
    recordDrained: assign(({ context, event }) => {
      assertEvent(event, 'connection.ended');
      return { drained: { record: event.record, previous: context.drained } };
    }),
    stopAccepting: sendTo('listener', { type: 'listener.drain' } satisfies ListenerCommand),
    shutdownConnections: sendTo('connections', { type: 'connections.shutdown' } satisfies ConnectionsCommand),
    terminateConnections: sendTo('connections', { type: 'connections.terminate' } satisfies ConnectionsCommand),
    recordTerminated: assign(({ context }) => ({ terminated: context.open ?? 0 })),
    markForced: assign({ forced: true }),
  },
}).createMachine({
  id: 'supervisor',
  context: () => ({
    address: null,
    open: null,
    drained: null,
    terminated: 0,
    forced: false,
    error: null,
  }),
  invoke: [
    { id: 'listener', src: 'listener' },
    { id: 'signals', src: 'signals' },
    { id: 'connections', src: 'connections' },
  ],
  initial: 'starting',
  states: {
    starting: {
      on: {
        'listener.ready': { target: 'listening', actions: 'recordAddress' },
        'listener.failed': { target: 'stopped', actions: 'recordListenFailure' },
        signal: 'stopped',
        'server.close': 'stopped',
      },
    },
    listening: {
      on: {
        signal: 'draining',
        'server.close': 'draining',
      },
    },
    draining: {
      entry: ['stopAccepting', 'shutdownConnections'],
      always: { guard: 'hasNoOpenConnections', target: 'stopped' },
      after: {
        drainTimeout: { target: 'terminating', actions: 'recordTerminated' },
      },
      on: {
        'connections.draining': { actions: 'recordOpen' },
        'connection.ended': { actions: ['countEnded', 'recordDrained'] },
        signal: { target: 'stopped', actions: ['markForced', 'recordTerminated'] },
      },
    },
    terminating: {
      entry: 'terminateConnections',
      always: { guard: 'hasNoOpenConnections', target: 'stopped' },
      after: { terminateTimeout: 'stopped' },
      on: {
        'connection.ended': { actions: ['countEnded', 'recordDrained'] },
        signal: { target: 'stopped', actions: 'markForced' },
      },
    },
    stopped: {
      type: 'final',
    },
  },
  output: ({ context }) => ({
    forced: context.forced,
    ...(context.error === null ? {} : { error: context.error }),
    drained: drainedRecords(context.drained),
    terminated: context.terminated,
  }),
});
