import { assign, createActor, fromCallback, setup, SimulatedClock } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.machine';
import { createConnectionPool } from '../../src/actors/connections.actor';
import { emptyCounters, type ConnectionOutput, type ListenerCommand } from '../../src/protocol/events';

const DRAIN = 1000;
const TERMINATE = 100;
const ADDRESS = { host: '127.0.0.1', port: 1, path: '/ws', url: 'ws://127.0.0.1:1/ws' };

/**
 * A connection that closes with 1001 when shut down. Made with transport
 * `hang` it ignores the shutdown and ends with 4002 when terminated; with
 * `deaf` it ignores both. It fails on `fail`, and hibernates on `hibernate`
 * (the pool then wakes a fresh one, with input.resume, for the next event).
 */
const fakeConnection = setup({
  types: {
    input: {} as { id: string; transport: unknown },
    context: {} as { id: string; mode: unknown; code: number; asleep: boolean },
    events: {} as { type: 'server.shutdown' } | { type: 'server.terminate' } | { type: 'fail' } | { type: 'hibernate' },
    output: {} as ConnectionOutput,
  },
  actions: {
    fail: () => {
      throw new Error('connection bug');
    },
  },
}).createMachine({
  context: ({ input }) => ({ id: input.id, mode: input.transport, code: 1001, asleep: false }),
  initial: 'open',
  on: {
    fail: { actions: 'fail' },
    'server.terminate': { guard: ({ context }) => context.mode !== 'deaf', target: '.closed', actions: assign({ code: 4002 }) },
  },
  states: {
    open: {
      on: {
        'server.shutdown': [{ guard: ({ context }) => context.mode !== 'ok', target: 'hung' }, { target: 'closed' }],
        hibernate: 'hibernated',
      },
    },
    hung: { on: { hibernate: 'hibernated' } },
    closed: { type: 'final' },
    hibernated: { type: 'final', entry: assign({ asleep: true }) },
  },
  output: ({ context }): ConnectionOutput =>
    context.asleep
      ? { id: context.id, hibernated: true, protocol: null, identity: null }
      : { id: context.id, code: context.code, reason: '', clean: context.code === 1001, ...emptyCounters() },
});

function start() {
  const listenerCommands: ListenerCommand[] = [];
  let supervisor: AnyActorRef | null = null;
  const listener = fromCallback<ListenerCommand, void>(({ receive, self }) => {
    supervisor = self._parent!;
    receive((command) => listenerCommands.push(command));
  });
  const clock = new SimulatedClock();
  const pool = createConnectionPool({ logic: fakeConnection });
  const machine = supervisorMachine.provide({
    actors: { listener, signals: fromCallback(() => undefined), connections: pool.logic },
    delays: { drainTimeout: DRAIN, terminateTimeout: TERMINATE },
  });
  const actor = createActor(machine, { clock }).start();
  // The listener hands an admitted upgrade to the pool, not to the supervisor.
  const connect = (transport: unknown = 'ok') => pool.accept(transport, 'any');
  const ready = () => supervisor!.send({ type: 'listener.ready', address: ADDRESS });
  const connection = (id: string): AnyActorRef | undefined => actor.system.get(id);
  const connections = () => Array.from({ length: pool.accepted }, (_, i) => `conn-${i + 1}`).filter((id) => connection(id) !== undefined);
  return { actor, clock, listenerCommands, connect, ready, connection, connections, pool };
}

describe('supervisor machine', () => {
  it('listens once the listener is ready and records the address', () => {
    const { actor, ready } = start();
    expect(actor.getSnapshot().value).toBe('starting');
    ready();
    expect(actor.getSnapshot().value).toBe('listening');
    expect(actor.getSnapshot().context.address).toEqual(ADDRESS);
  });

  it('stops with the error when the listener fails', () => {
    const { actor } = start();
    actor.getSnapshot().children.listener!._parent!.send({ type: 'listener.failed', message: 'EADDRINUSE' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ forced: false, error: 'EADDRINUSE', drained: [], terminated: 0 });
  });

  it('takes no step per accepted upgrade: its pool starts one connection actor for each', () => {
    const { ready, connect, connections, actor, pool } = start();
    ready();
    const listening = actor.getSnapshot();
    connect();
    connect();
    expect(connections()).toEqual(['conn-1', 'conn-2']);
    expect(pool.open).toBe(2);
    expect(actor.getSnapshot()).toBe(listening);
  });

  it('counts the drain down from the number of connections the pool has open when it begins', () => {
    const { actor, ready, connect, connection } = start();
    ready();
    connect();
    connect('hang');
    connect('hang');
    connection('conn-1')!.send({ type: 'fail' });
    actor.send({ type: 'server.close' });
    expect(actor.getSnapshot().value).toBe('draining');
    expect(actor.getSnapshot().context.open).toBe(2);
    connection('conn-2')!.send({ type: 'fail' });
    expect(actor.getSnapshot().context.open).toBe(1);
  });

  it('drains on a signal: stops accepting, shuts every connection down and stops when all have closed', () => {
    const { actor, ready, connect, listenerCommands } = start();
    ready();
    connect();
    connect();
    actor.send({ type: 'signal', signal: 'SIGTERM' });
    expect(listenerCommands).toEqual([{ type: 'listener.drain' }]);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toMatchObject({ forced: false, terminated: 0 });
    expect(actor.getSnapshot().output!.drained.map((r) => r.id)).toEqual(['conn-1', 'conn-2']);
  });

  it('drains the same way on server.close', () => {
    const { actor, ready, connect } = start();
    ready();
    connect();
    actor.send({ type: 'server.close' });
    expect(actor.getSnapshot().output!.drained).toHaveLength(1);
  });

  it('stops at once when closed before it listened', () => {
    const { actor } = start();
    actor.send({ type: 'server.close' });
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('terminates the connections still open at the drain deadline', () => {
    const { actor, ready, connect, clock } = start();
    ready();
    connect();
    connect('hang');
    actor.send({ type: 'signal', signal: 'SIGINT' });
    expect(actor.getSnapshot().value).toBe('draining');
    clock.increment(DRAIN - 1);
    expect(actor.getSnapshot().value).toBe('draining');
    clock.increment(1);
    expect(actor.getSnapshot().output).toMatchObject({ forced: false, terminated: 1 });
    expect(actor.getSnapshot().output!.drained.map((r) => [r.id, r.code])).toEqual([
      ['conn-1', 1001],
      ['conn-2', 4002],
    ]);
  });

  it('stops without the records of connections that do not end within terminateTimeout', () => {
    const { actor, ready, connect, clock } = start();
    ready();
    connect('deaf');
    actor.send({ type: 'server.close' });
    clock.increment(DRAIN);
    expect(actor.getSnapshot().value).toBe('terminating');
    clock.increment(TERMINATE);
    expect(actor.getSnapshot().output).toEqual({ forced: false, drained: [], terminated: 1 });
  });

  it('forces the stop on a second signal during the drain', () => {
    const { actor, ready, connect } = start();
    ready();
    connect('deaf');
    actor.send({ type: 'signal', signal: 'SIGINT' });
    actor.send({ type: 'signal', signal: 'SIGINT' });
    expect(actor.getSnapshot().output).toEqual({ forced: true, drained: [], terminated: 1 });
  });

  it('releases a connection actor once it has ended', () => {
    const { actor, ready, connect, connections, connection } = start();
    ready();
    connect();
    connect();
    const listening = actor.getSnapshot();
    connection('conn-1')!.send({ type: 'server.shutdown' });
    expect(connections()).toEqual(['conn-2']);
    expect(actor.getSnapshot()).toBe(listening);
  });

  it('survives a connection that fails, which no longer counts as open', () => {
    const { actor, ready, connect, connections, connection, pool } = start();
    ready();
    connect();
    connect();
    connection('conn-1')!.send({ type: 'fail' });
    expect(actor.getSnapshot().status).toBe('active');
    expect(pool.open).toBe(1);
    expect(connections()).toEqual(['conn-2']);
  });

  it('records a connection that fails during the drain as a 1011 close', () => {
    const { actor, ready, connect, connection } = start();
    ready();
    connect('hang');
    actor.send({ type: 'server.close' });
    connection('conn-1')!.send({ type: 'fail' });
    expect(actor.getSnapshot().output!.drained).toEqual([
      expect.objectContaining({ id: 'conn-1', code: 1011, clean: false }),
    ]);
  });

  describe('a connection that hibernates', () => {
    it('still counts as open: its actor completed with a hibernation, and the pool tells the supervisor nothing', () => {
      const { actor, ready, connect, connection, pool } = start();
      ready();
      connect();
      connect();
      const listening = actor.getSnapshot();
      connection('conn-1')!.send({ type: 'hibernate' });
      expect(connection('conn-1')).toBeUndefined();
      expect(pool.open).toBe(2);
      expect(actor.getSnapshot()).toBe(listening);
    });

    it('does not end a drain by hibernating: the drain waits for its close record, which the deadline brings', () => {
      const { actor, clock, ready, connect, connection } = start();
      ready();
      connect('hang');
      actor.send({ type: 'server.close' });
      connection('conn-1')!.send({ type: 'hibernate' });
      expect(actor.getSnapshot().value).toBe('draining');
      expect(actor.getSnapshot().context.open).toBe(1);
      // Past the deadline the pool wakes it to be terminated; its close record ends the drain.
      clock.increment(DRAIN);
      expect(actor.getSnapshot().status).toBe('done');
      expect(actor.getSnapshot().output!.drained.map((r) => [r.id, r.code])).toEqual([['conn-1', 4002]]);
    });

    it('is woken by the drain (a fresh actor under the same id), closes with 1001 and ends the drain', () => {
      const { actor, ready, connect, connection } = start();
      ready();
      connect();
      connect();
      connection('conn-1')!.send({ type: 'hibernate' });
      actor.send({ type: 'server.close' });
      expect(actor.getSnapshot().status).toBe('done');
      expect(actor.getSnapshot().output!.drained.map((r) => [r.id, r.code])).toEqual([
        ['conn-1', 1001],
        ['conn-2', 1001],
      ]);
    });
  });
});
