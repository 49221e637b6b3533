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
  /** Connections spawned so far; the next id is `conn-${spawned + 1}`. */
  spawned: number;
  /** Connections spawned and not yet ended. */
  active: number;
  /** Records of the connections that ended during the drain, newest first, as an immutable list: appending is O(1). */
  drained: DrainedList;
  terminated: number;
  forced: boolean;
  error: string | null;
}

export const CONNECTION_ID_PREFIX = 'conn-';

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
 * open are terminated and report their close records. It owns the
 * listener, the signal source and the connection pool (all invoked), has the
 * pool start one connection actor per accepted upgrade, with itself as the
 * parent, learns of each connection's end by observing its completion or its
 * error, and owns the drain deadline.
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
    hasNoActiveConnections: ({ context }) => context.active === 0,
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
    // Two plain actions rather than enqueueActions, which allocated about 1.7 KB more per connection.
    countAccepted: assign(({ context }) => ({ spawned: context.spawned + 1, active: context.active + 1 })),
    // Runs after countAccepted: `spawned` is already this connection's number.
    spawnConnection: sendTo('connections', ({ context, event }) => {
      assertEvent(event, 'listener.connection');
      return { type: 'connections.spawn', id: `${CONNECTION_ID_PREFIX}${context.spawned}`, transport: event.transport, protocol: event.protocol } satisfies ConnectionsCommand;
    }),
    countEnded: assign(({ context }) => ({ active: context.active - 1 })),
    recordDrained: assign(({ context, event }) => {
      assertEvent(event, 'connection.ended');
      return { drained: { record: event.record, previous: context.drained } };
    }),
    stopAccepting: sendTo('listener', { type: 'listener.drain' } satisfies ListenerCommand),
    shutdownConnections: sendTo('connections', { type: 'connections.shutdown' } satisfies ConnectionsCommand),
    terminateConnections: sendTo('connections', { type: 'connections.terminate' } satisfies ConnectionsCommand),
    recordTerminated: assign(({ context }) => ({ terminated: context.active })),
    markForced: assign({ forced: true }),
  },
}).createMachine({
  id: 'supervisor',
  context: () => ({
    address: null,
    spawned: 0,
    active: 0,
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
        'listener.connection': { actions: ['countAccepted', 'spawnConnection'] },
        'connection.ended': { actions: 'countEnded' },
        signal: 'draining',
        'server.close': 'draining',
      },
    },
    draining: {
      entry: ['stopAccepting', 'shutdownConnections'],
      always: { guard: 'hasNoActiveConnections', target: 'stopped' },
      after: {
        drainTimeout: { target: 'terminating', actions: 'recordTerminated' },
      },
      on: {
        'connection.ended': { actions: ['countEnded', 'recordDrained'] },
        signal: { target: 'stopped', actions: ['markForced', 'recordTerminated'] },
      },
    },
    terminating: {
      entry: 'terminateConnections',
      always: { guard: 'hasNoActiveConnections', target: 'stopped' },
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
