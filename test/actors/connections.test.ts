import { assign, createActor, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { createConnectionPool } from '../../src/actors/connections.actor';
import type { ConnectionSocket } from '../../src/actors/socket.bridge';
import {
  emptyCounters,
  type CloseRecord,
  type ConnectionEvent,
  type ConnectionOutput,
  type Hibernation,
  type SocketCommand,
  type SocketPort,
  type SupervisorEvent,
} from '../../src/protocol/events';

/** A connection that asks its bridge to upgrade as it starts, opens when told, ends when its socket closes, fails on `fail`. */
const connection = setup({
  types: {
    input: {} as { id: string; transport: unknown; socket: SocketPort },
    context: {} as { id: string; socket: SocketPort },
    events: {} as ConnectionEvent | { type: 'fail' },
    output: {} as CloseRecord,
  },
  actions: {
    upgrade: ({ context }) => context.socket.send({ type: 'socket.upgrade' }),
    fail: () => {
      throw new Error('connection bug');
    },
  },
}).createMachine({
  context: ({ input }) => ({ id: input.id, socket: input.socket }),
  initial: 'upgrading',
  on: { fail: { actions: 'fail' } },
  states: {
    upgrading: { entry: 'upgrade', on: { 'socket.open': 'open' } },
    open: { on: { 'socket.closed': 'closed' } },
    closed: { type: 'final' },
  },
  output: ({ context }) => ({ id: context.id, code: 1000, reason: '', clean: true, ...emptyCounters() }),
});

/**
 * A connection that hibernates on `hibernate` (its output then carries what
 * it heard while open, as its protocol), resumes straight into `open` with
 * `input.resume`, and closes when its socket does (1000) or on shutdown (1001).
 */
const sleeper = setup({
  types: {
    input: {} as { id: string; transport: unknown; socket: SocketPort; resume?: Hibernation },
    context: {} as { id: string; socket: SocketPort; resumed: Hibernation | null; heard: string[]; code: number; asleep: boolean },
    events: {} as ConnectionEvent | { type: 'hibernate' },
    output: {} as ConnectionOutput,
  },
  actions: {
    upgrade: ({ context }) => context.socket.send({ type: 'socket.upgrade' }),
    hear: assign({ heard: ({ context, event }) => [...context.heard, event.type] }),
  },
}).createMachine({
  context: ({ input }) => ({
    id: input.id,
    socket: input.socket,
    resumed: input.resume ?? null,
    heard: (input.resume?.protocol as string[] | undefined) ?? [],
    code: 1000,
    asleep: false,
  }),
  initial: 'admitting',
  states: {
    admitting: { always: [{ guard: ({ context }) => context.resumed !== null, target: 'open' }, { target: 'upgrading' }] },
    upgrading: { entry: 'upgrade', on: { 'socket.open': 'open' } },
    open: {
      on: {
        hibernate: { target: 'hibernated', actions: assign({ asleep: true }) },
        'socket.closed': { target: 'closed', actions: 'hear' },
        'server.shutdown': { target: 'closed', actions: ['hear', assign({ code: 1001 })] },
        '*': { actions: 'hear' },
      },
    },
    closed: { type: 'final' },
    hibernated: { type: 'final' },
  },
  output: ({ context }): ConnectionOutput =>
    context.asleep
      ? { id: context.id, hibernated: true, protocol: context.heard, identity: `identity of ${context.id}` }
      : { id: context.id, code: context.code, reason: '', clean: true, ...emptyCounters() },
});

/** Bridges that answer the upgrade at once and record what happens to them. */
function bridges() {
  const made: { id: string; transport: unknown; commands: SocketCommand[]; disposed: number; report: (event: ConnectionEvent) => void }[] = [];
  const factory = (id: string, transport: unknown, report: (event: ConnectionEvent) => void, asleep = false): ConnectionSocket => {
    const bridge = { id, transport, commands: [] as SocketCommand[], disposed: 0, report };
    made.push(bridge);
    // Made asleep, a bridge completes the upgrade itself.
    if (asleep) bridge.commands.push({ type: 'bridge.upgradeAsleep' } as never);
    return {
      send(command) {
        bridge.commands.push(command);
        if (command.type === 'socket.upgrade') report({ type: 'socket.open' });
      },
      dispose: () => void bridge.disposed++,
      hibernate: () => void bridge.commands.push({ type: 'bridge.hibernate' } as never),
      wake: () => void bridge.commands.push({ type: 'bridge.wake' } as never),
    };
  };
  return { made, factory };
}

function startPool(logic: typeof connection | typeof sleeper = connection, opensAsleep = false) {
  const { made, factory } = bridges();
  const ended: CloseRecord[] = [];
  const accepted: string[] = [];
  // What the supervisor is told: nothing until it drains; then how many are open, and one `connection.ended` per end.
  const told: SupervisorEvent[] = [];
  const connections = createConnectionPool(
    { logic, socket: factory, opensAsleep },
    {},
    { onEnded: (record) => ended.push(record), onAccepted: (id) => accepted.push(id) },
  );
  const supervisor = createActor(
    setup({ actors: { connections: connections.logic } }).createMachine({
      invoke: { id: 'connections', src: 'connections' },
      on: { '*': { actions: ({ event }) => void told.push(event as (typeof told)[number]) } },
    }),
  ).start();
  const pool = supervisor.getSnapshot().children.connections!;
  /** Accepts the next upgrade, which the pool names `id`. */
  const spawn = (id: string) => {
    expect(connections.accept(`transport of ${id}`, 'any')).toBe(id);
    return supervisor.system.get(id) as AnyActorRef;
  };
  return { made, ended, accepted, told, spawn, supervisor, pool, connections };
}

describe('connection pool', () => {
  it('gives each connection its own socket bridge, whose reports reach that connection', () => {
    const { made, spawn } = startPool();
    const one = spawn('conn-1');
    const two = spawn('conn-2');
    expect(made.map(({ id, transport }) => ({ id, transport }))).toEqual([
      { id: 'conn-1', transport: 'transport of conn-1' },
      { id: 'conn-2', transport: 'transport of conn-2' },
    ]);
    expect(made.map((bridge) => bridge.commands)).toEqual([[{ type: 'socket.upgrade' }], [{ type: 'socket.upgrade' }]]);
    expect(one.getSnapshot().value).toBe('open');
    made[1].report({ type: 'socket.closed', code: 1000, reason: '', counters: emptyCounters() });
    expect(two.getSnapshot().status).toBe('done');
    expect(one.getSnapshot().status).toBe('active');
  });

  it('disposes of a bridge once its connection has ended, and only then', () => {
    const { made, ended, spawn } = startPool();
    spawn('conn-1');
    expect(made[0].disposed).toBe(0);
    made[0].report({ type: 'socket.closed', code: 1000, reason: '', counters: emptyCounters() });
    expect(made[0].disposed).toBe(1);
    expect(ended.map((record) => record.id)).toEqual(['conn-1']);
  });

  it('names connections conn-1, conn-2, ... in the order it accepts them, and counts them accepted and open', () => {
    const { made, spawn, connections } = startPool();
    spawn('conn-1');
    spawn('conn-2');
    spawn('conn-3');
    made[1].report({ type: 'socket.closed', code: 1000, reason: '', counters: emptyCounters() });
    expect({ accepted: connections.accepted, open: connections.open }).toEqual({ accepted: 3, open: 2 });
  });

  it('accepts nothing while its actor is not running: the listener refuses the upgrade', () => {
    const idle = createConnectionPool({ logic: connection });
    expect(idle.accept('transport', 'any')).toBeNull();
    const { supervisor, connections } = startPool();
    supervisor.stop();
    expect(connections.accept('transport', 'any')).toBeNull();
    expect(connections.accepted).toBe(0);
  });

  it('tells the supervisor nothing per connection until it drains; then how many are open, and every end with one event type and the record in it', () => {
    const { made, told, spawn, pool } = startPool();
    spawn('conn-1');
    spawn('conn-2').send({ type: 'fail' });
    const three = spawn('conn-3');
    spawn('conn-4');
    made[0].report({ type: 'socket.closed', code: 1000, reason: 'early', counters: emptyCounters() });
    expect(told).toEqual([]);
    pool.send({ type: 'connections.shutdown' });
    three.send({ type: 'fail' });
    made[3].report({ type: 'socket.closed', code: 1000, reason: 'bye', counters: emptyCounters() });
    // (A type per connection id, `xstate.done.actor.conn-N`, would grow XState's caches for ever.)
    expect(told.map((event) => event.type)).toEqual(['connections.draining', 'connection.ended', 'connection.ended']);
    expect(told[0]).toEqual({ type: 'connections.draining', open: 2 });
    expect(told.slice(1).map((event) => (event.type === 'connection.ended' ? [event.record.id, event.record.code] : null))).toEqual([
      ['conn-3', 1011],
      ['conn-4', 1000],
    ]);
  });

  it('makes itself the parent of its connections, so their own done and error events never reach the supervisor', () => {
    const { spawn, pool } = startPool();
    expect((spawn('conn-1') as unknown as { _parent: unknown })._parent).toBe(pool);
  });

  it('disposes of the bridge of a connection that fails, and records the failure as 1011', () => {
    const { made, ended, spawn, supervisor } = startPool();
    const actor = spawn('conn-1');
    actor.send({ type: 'fail' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(made[0].disposed).toBe(1);
    expect(ended).toEqual([expect.objectContaining({ id: 'conn-1', code: 1011, clean: false })]);
    expect(supervisor.getSnapshot().status).toBe('active');
  });

  describe('a connection that hibernates', () => {
    const bridgeCalls = (commands: SocketCommand[]) => commands.map((command) => command.type);

    it('keeps its bridge: hibernates it, neither disposes of it nor reports the connection ended', () => {
      const { made, ended, spawn, supervisor } = startPool(sleeper);
      const actor = spawn('conn-1');
      actor.send({ type: 'hibernate' });
      expect(actor.getSnapshot().status).toBe('done');
      expect(bridgeCalls(made[0].commands)).toEqual(['socket.upgrade', 'bridge.hibernate']);
      expect(made[0].disposed).toBe(0);
      expect(ended).toEqual([]);
      expect(supervisor.system.get('conn-1')).toBeUndefined();
    });

    it('wakes with the next event its bridge reports: a fresh actor under the same id, resumed from its hibernation, gets that event', () => {
      const { made, spawn, supervisor } = startPool(sleeper);
      const first = spawn('conn-1');
      first.send({ type: 'socket.pong', quiet: false });
      first.send({ type: 'hibernate' });
      made[0].report({ type: 'socket.pong', quiet: true });
      const woken = supervisor.system.get('conn-1') as AnyActorRef;
      expect(woken).toBeDefined();
      expect(woken).not.toBe(first);
      expect(woken.getSnapshot().value).toBe('open');
      expect(woken.getSnapshot().context.resumed).toEqual({ id: 'conn-1', hibernated: true, protocol: ['socket.pong'], identity: 'identity of conn-1' });
      expect(woken.getSnapshot().context.heard).toEqual(['socket.pong', 'socket.pong']);
      // Woken, not opened again: no second upgrade.
      expect(bridgeCalls(made[0].commands)).toEqual(['socket.upgrade', 'bridge.hibernate', 'bridge.wake']);
    });

    it('ends without waking when its socket closes: the bridge disposed of, the record made from the close as an actor woken for it would', () => {
      const { made, ended, spawn, supervisor } = startPool(sleeper);
      spawn('conn-1').send({ type: 'hibernate' });
      const counters = { ...emptyCounters(), messagesIn: 3, bytesIn: 12 };
      made[0].report({ type: 'socket.closed', code: 1001, reason: 'client leaving', counters });
      // The sleeper, woken, would have recorded 1000 with no reason: the record is the close's, and no actor was made.
      expect(bridgeCalls(made[0].commands)).toEqual(['socket.upgrade', 'bridge.hibernate']);
      expect(made[0].disposed).toBe(1);
      expect(ended).toEqual([{ id: 'conn-1', code: 1001, reason: 'client leaving', clean: true, ...counters }]);
      expect(supervisor.system.get('conn-1')).toBeUndefined();
    });

    it('ends unclean when its socket drops while it hibernates (1006)', () => {
      const { made, ended, spawn } = startPool(sleeper);
      spawn('conn-1').send({ type: 'hibernate' });
      made[0].report({ type: 'socket.closed', code: 1006, reason: '', counters: emptyCounters() });
      expect(ended).toEqual([expect.objectContaining({ id: 'conn-1', code: 1006, clean: false })]);
    });

    it('hibernates and wakes again, each actor resuming from the last one', () => {
      const { made, spawn, supervisor } = startPool(sleeper);
      spawn('conn-1').send({ type: 'hibernate' });
      made[0].report({ type: 'outbox.congested' });
      (supervisor.system.get('conn-1') as AnyActorRef).send({ type: 'hibernate' });
      made[0].report({ type: 'outbox.flowing' });
      expect((supervisor.system.get('conn-1') as AnyActorRef).getSnapshot().context.heard).toEqual(['outbox.congested', 'outbox.flowing']);
      expect(bridgeCalls(made[0].commands)).toEqual(['socket.upgrade', 'bridge.hibernate', 'bridge.wake', 'bridge.hibernate', 'bridge.wake']);
    });

    it('is woken by a shutdown, and then closes with 1001 as an open connection does', () => {
      const { made, ended, told, spawn, supervisor, pool } = startPool(sleeper);
      spawn('conn-1').send({ type: 'hibernate' });
      spawn('conn-2');
      pool.send({ type: 'connections.shutdown' });
      expect(bridgeCalls(made[0].commands)).toEqual(['socket.upgrade', 'bridge.hibernate', 'bridge.wake']);
      expect(ended.map((record) => [record.id, record.code])).toEqual([
        ['conn-1', 1001],
        ['conn-2', 1001],
      ]);
      // The hibernating connection counts as open in the drain.
      expect(told).toEqual([
        { type: 'connections.draining', open: 2 },
        { type: 'connection.ended', record: ended[0] },
        { type: 'connection.ended', record: ended[1] },
      ]);
      expect(made.map((bridge) => bridge.disposed)).toEqual([1, 1]);
      expect(supervisor.system.get('conn-1')).toBeUndefined();
    });
  });

  describe('a kind whose connections open asleep', () => {
    const bridgeCalls = (commands: SocketCommand[]) => commands.map((command) => command.type);

    it('has the bridge complete the upgrade itself and starts no actor; the connection counts as accepted', () => {
      const { made, accepted, spawn, supervisor } = startPool(sleeper, true);
      expect(spawn('conn-1')).toBeUndefined();
      expect(bridgeCalls(made[0].commands)).toEqual(['bridge.upgradeAsleep']);
      expect(accepted).toEqual(['conn-1']);
      expect(supervisor.system.get('conn-1')).toBeUndefined();
    });

    it('starts its actor with the first event, resumed with nothing to restore, and hands it that event', () => {
      const { made, spawn, supervisor } = startPool(sleeper, true);
      spawn('conn-1');
      made[0].report({ type: 'socket.data' });
      const actor = supervisor.system.get('conn-1') as AnyActorRef;
      expect(actor.getSnapshot().value).toBe('open');
      expect(actor.getSnapshot().context.resumed).toEqual({ id: 'conn-1', hibernated: true, protocol: null, identity: null });
      expect(actor.getSnapshot().context.heard).toEqual(['socket.data']);
      expect(bridgeCalls(made[0].commands)).toEqual(['bridge.upgradeAsleep', 'bridge.wake']);
    });

    it('ends with no actor ever made when it closes before any event', () => {
      const { made, ended, spawn } = startPool(sleeper, true);
      spawn('conn-1');
      made[0].report({ type: 'socket.closed', code: 1000, reason: 'done', counters: emptyCounters() });
      expect(bridgeCalls(made[0].commands)).toEqual(['bridge.upgradeAsleep']);
      expect(made[0].disposed).toBe(1);
      expect(ended).toEqual([{ id: 'conn-1', code: 1000, reason: 'done', clean: true, ...emptyCounters() }]);
    });

    it('is woken by a shutdown like any hibernating connection', () => {
      const { made, ended, spawn, pool } = startPool(sleeper, true);
      spawn('conn-1');
      pool.send({ type: 'connections.shutdown' });
      expect(bridgeCalls(made[0].commands)).toEqual(['bridge.upgradeAsleep', 'bridge.wake']);
      expect(ended.map((record) => [record.id, record.code])).toEqual([['conn-1', 1001]]);
    });
  });
});
