import { assign, createActor, fromCallback, setup } from 'xstate';
import type { AnyActorRef, AnyMachineSnapshot, AnyStateMachine, InspectionEvent, SnapshotFrom } from 'xstate';
import { drainedRecords, supervisorMachine, type DrainedList } from '../../machines/supervisor.machine';
import { createConnectionPool } from '../../src/actors/connections.actor';
import { CloseCode } from '../../src/protocol/close-codes';
import { emptyCounters, type CloseRecord, type ListenerCommand, type ShutdownSummary, type SupervisorEvent } from '../../src/protocol/events';
import { SteppingClock } from '../../src/testing';
import type { ModelSpec } from './harness';

const delays = { drainTimeout: 1000, terminateTimeout: 100 };
const ADDRESS = { host: '127.0.0.1', port: 1, path: '/ws', url: 'ws://127.0.0.1:1/ws' };
/** The model accepts at most this many connections, which keeps its state space finite. */
const MAX_CONNECTIONS = 2;

/**
 * A connection that ends only when the test says so: it completes with a
 * close record on `peer.close` and fails on `fail`, and ignores the
 * supervisor's shutdown and terminate (a connection's own answer to those is
 * the connection model's business). So every connection end is an explicit
 * event of the model.
 */
const fakeConnection = setup({
  types: {
    input: {} as { id: string; transport: unknown },
    context: {} as { id: string; told: string[] },
    events: {} as { type: 'server.shutdown' } | { type: 'server.terminate' } | { type: 'peer.close' } | { type: 'fail' },
    output: {} as CloseRecord,
  },
}).createMachine({
  context: ({ input }) => ({ id: input.id, told: [] }),
  initial: 'open',
  states: {
    open: {
      on: {
        'peer.close': 'closed',
        fail: {
          actions: () => {
            throw new Error('connection bug');
          },
        },
        'server.*': { actions: assign({ told: ({ context, event }) => [...context.told, event.type] }) },
      },
    },
    closed: { type: 'final' },
  },
  output: ({ context }) => ({ id: context.id, code: CloseCode.Normal, reason: '', clean: true, ...emptyCounters() }),
});

interface Impl {
  clock: SteppingClock;
  actor: AnyActorRef;
  listenerCommands: ListenerCommand[];
  listener(event: SupervisorEvent): void;
  signal(): void;
  /** The connections still open, oldest first. */
  live(): AnyActorRef[];
}

function start(inspect: (event: InspectionEvent) => void): Impl {
  let fromListener: ((event: SupervisorEvent) => void) | null = null;
  let fromSignals: ((event: SupervisorEvent) => void) | null = null;
  const listenerCommands: ListenerCommand[] = [];
  const clock = new SteppingClock();
  const machine = supervisorMachine.provide({
    actors: {
      listener: fromCallback<ListenerCommand, void>(({ sendBack, receive }) => {
        fromListener = sendBack;
        receive((command) => listenerCommands.push(command));
      }),
      signals: fromCallback(({ sendBack }) => {
        fromSignals = sendBack;
      }),
      connections: createConnectionPool({ logic: fakeConnection }),
    },
    delays,
  });
  const actor = createActor(machine, { clock, inspect }).start();
  return {
    clock,
    actor,
    listenerCommands,
    listener: (event) => fromListener!(event),
    signal: () => fromSignals!({ type: 'signal', signal: 'SIGINT' }),
    live: () =>
      Array.from({ length: actor.getSnapshot().context.spawned }, (_, i) => actor.system.get(`conn-${i + 1}`) as AnyActorRef | undefined).filter(
        (ref): ref is AnyActorRef => ref !== undefined && ref.getSnapshot().status === 'active',
      ),
  };
}

/** The model's events for the end of its oldest open connection (the one the implementation ends): closed by its peer, or failed (1011). */
function connectionEnds(s: AnyMachineSnapshot): SupervisorEvent[] {
  const { spawned, active } = s.context as { spawned: number; active: number };
  if (active === 0) return [];
  const id = `conn-${spawned - active + 1}`;
  const record = (code: number, clean: boolean): CloseRecord => ({ id, code, reason: '', clean, ...emptyCounters() });
  return [
    { type: 'connection.ended', record: record(CloseCode.Normal, true) },
    { type: 'connection.ended', record: record(CloseCode.InternalError, false) },
  ];
}

type SupervisorSnapshot = SnapshotFrom<typeof supervisorMachine>;

/** What the model and the implementation are compared on: the state, the whole context (records by id and code) and the output. */
function observable(s: SupervisorSnapshot) {
  const records = (drained: CloseRecord[]) => drained.map((r) => [r.id, r.code]);
  const list = (drained: DrainedList) => records(drainedRecords(drained));
  const output: ShutdownSummary | undefined = s.status === 'done' ? s.output : undefined;
  return {
    value: s.value,
    context: { ...s.context, drained: list(s.context.drained) },
    output: output === undefined ? null : { ...output, drained: records(output.drained) },
  };
}

/**
 * The supervisor, driven with a fake listener and signal source and the real
 * connection pool holding fake connections, on a SteppingClock.
 */
export const supervisorSpec: ModelSpec<Impl> = {
  machine: supervisorMachine,
  model: supervisorMachine.provide({
    actors: { listener: fromCallback(() => undefined), signals: fromCallback(() => undefined), connections: fromCallback(() => undefined) },
  }) as AnyStateMachine,
  delays,
  events: {
    'listener.ready': () => [{ type: 'listener.ready', address: ADDRESS }],
    'listener.failed': () => [{ type: 'listener.failed', message: 'EADDRINUSE' }],
    'listener.connection': (s) => (s.context.spawned < MAX_CONNECTIONS ? [{ type: 'listener.connection', transport: null }] : []),
    signal: () => [{ type: 'signal', signal: 'SIGINT' }],
    'connection.ended': connectionEnds,
  },
  exec: {
    'listener.ready': (impl, event) => impl.listener(event as SupervisorEvent),
    'listener.failed': (impl, event) => impl.listener(event as SupervisorEvent),
    'listener.connection': (impl, event) => impl.listener(event as SupervisorEvent),
    signal: (impl) => impl.signal(),
    'server.close': (impl) => impl.actor.send({ type: 'server.close' }),
    // The pool tells the supervisor: the connection's peer closes, or the connection actor fails (the pool records 1011).
    'connection.ended': (impl, event) =>
      impl.live()[0].send({ type: (event as Extract<SupervisorEvent, { type: 'connection.ended' }>).record.code === CloseCode.InternalError ? 'fail' : 'peer.close' }),
  },
  abstract: (s) => observable(s as SupervisorSnapshot),
  start,
  observe: (impl) => observable(impl.actor.getSnapshot() as SupervisorSnapshot),
  check(impl, _event, _before, after) {
    // The listener is told to stop accepting exactly when the supervisor leaves listening for a drain.
    const drained = !after.matches('starting') && !after.matches('listening') && impl.listenerCommands.length > 0;
    expect(impl.listenerCommands).toEqual(drained ? [{ type: 'listener.drain' }] : []);
    // Every connection still open hears the shutdown once draining has begun, and the terminate once past the deadline.
    for (const connection of impl.live()) {
      const told = (connection.getSnapshot() as { context: { told: string[] } }).context.told;
      if (after.matches('listening')) expect(told).toEqual([]);
      if (after.matches('draining')) expect(told).toEqual(['server.shutdown']);
      if (after.matches('terminating')) expect(told).toEqual(['server.shutdown', 'server.terminate']);
    }
  },
};
