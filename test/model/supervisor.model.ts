import { createActor, fromCallback } from 'xstate';
import type { AnyActorRef, AnyMachineSnapshot, AnyStateMachine, InspectionEvent, SnapshotFrom } from 'xstate';
import { drainedRecords, supervisorMachine, type DrainedList } from '../../machines/supervisor.machine';
import { CloseCode } from '../../src/protocol/close-codes';
import {
  emptyCounters,
  type CloseRecord,
  type ConnectionsCommand,
  type ListenerCommand,
  type ShutdownSummary,
  type SupervisorEvent,
} from '../../src/protocol/events';
import { SteppingClock } from '../../src/testing';
import type { ModelSpec } from './harness';

const delays = { drainTimeout: 1000, terminateTimeout: 100 };
const ADDRESS = { host: '127.0.0.1', port: 1, path: '/ws', url: 'ws://127.0.0.1:1/ws' };
/** The model drains at most this many connections, which keeps its state space finite. */
const MAX_CONNECTIONS = 2;

interface Impl {
  clock: SteppingClock;
  actor: AnyActorRef;
  listenerCommands: ListenerCommand[];
  poolCommands: ConnectionsCommand[];
  listener(event: SupervisorEvent): void;
  /** What the connection pool tells the supervisor. */
  pool(event: SupervisorEvent): void;
  signal(): void;
}

function start(inspect: (event: InspectionEvent) => void): Impl {
  let fromListener: ((event: SupervisorEvent) => void) | null = null;
  let fromPool: ((event: SupervisorEvent) => void) | null = null;
  let fromSignals: ((event: SupervisorEvent) => void) | null = null;
  const listenerCommands: ListenerCommand[] = [];
  const poolCommands: ConnectionsCommand[] = [];
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
      // The pool's side (how many are open when the drain begins, each end) is the model's events; the pool's own
      // answers are the connection pool's tests.
      connections: fromCallback<ConnectionsCommand, void>(({ sendBack, receive }) => {
        fromPool = sendBack;
        receive((command) => poolCommands.push(command));
      }),
    },
    delays,
  });
  const actor = createActor(machine, { clock, inspect }).start();
  return {
    clock,
    actor,
    listenerCommands,
    poolCommands,
    listener: (event) => fromListener!(event),
    pool: (event) => fromPool!(event),
    signal: () => fromSignals!({ type: 'signal', signal: 'SIGINT' }),
  };
}

/** The pool's answer to the shutdown: any number of open connections up to the model's bound. */
function drainingAnswers(s: AnyMachineSnapshot): SupervisorEvent[] {
  if ((s.context as { open: number | null }).open !== null) return [];
  return Array.from({ length: MAX_CONNECTIONS + 1 }, (_, open) => ({ type: 'connections.draining', open }));
}

/** The end of one of the connections the drain waits for: closed, or its actor failed (1011). */
function connectionEnds(s: AnyMachineSnapshot): SupervisorEvent[] {
  const { open } = s.context as { open: number | null };
  if (open === null || open === 0) return [];
  const record = (code: number, clean: boolean): CloseRecord => ({ id: `conn-${open}`, code, reason: '', clean, ...emptyCounters() });
  return [
    { type: 'connection.ended', record: record(CloseCode.GoingAway, true) },
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

/** The supervisor, driven with a fake listener, signal source and connection pool, on a SteppingClock. */
export const supervisorSpec: ModelSpec<Impl> = {
  machine: supervisorMachine,
  model: supervisorMachine.provide({
    actors: { listener: fromCallback(() => undefined), signals: fromCallback(() => undefined), connections: fromCallback(() => undefined) },
  }) as AnyStateMachine,
  delays,
  events: {
    'listener.ready': () => [{ type: 'listener.ready', address: ADDRESS }],
    'listener.failed': () => [{ type: 'listener.failed', message: 'EADDRINUSE' }],
    signal: () => [{ type: 'signal', signal: 'SIGINT' }],
    'connections.draining': drainingAnswers,
    'connection.ended': connectionEnds,
  },
  exec: {
    'listener.ready': (impl, event) => impl.listener(event as SupervisorEvent),
    'listener.failed': (impl, event) => impl.listener(event as SupervisorEvent),
    signal: (impl) => impl.signal(),
    'server.close': (impl) => impl.actor.send({ type: 'server.close' }),
    'connections.draining': (impl, event) => impl.pool(event as SupervisorEvent),
    'connection.ended': (impl, event) => impl.pool(event as SupervisorEvent),
  },
  abstract: (s) => observable(s as SupervisorSnapshot),
  start,
  observe: (impl) => observable(impl.actor.getSnapshot() as SupervisorSnapshot),
  check(impl, _event, _before, after) {
    // The listener is told to stop accepting exactly when the supervisor leaves listening for a drain.
    const drained = !after.matches('starting') && !after.matches('listening') && impl.listenerCommands.length > 0;
    expect(impl.listenerCommands).toEqual(drained ? [{ type: 'listener.drain' }] : []);
    // The pool is told to shut its connections down once the drain begins, and to terminate them past the deadline.
    const told = impl.poolCommands.map((command) => command.type);
    if (after.matches('starting') || after.matches('listening')) expect(told).toEqual([]);
    if (after.matches('draining')) expect(told).toEqual(['connections.shutdown']);
    if (after.matches('terminating')) expect(told).toEqual(['connections.shutdown', 'connections.terminate']);
  },
};
