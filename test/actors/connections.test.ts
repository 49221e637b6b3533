import { createActor, createMachine, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { createConnectionPool } from '../../src/actors/connections.actor';
import type { ConnectionSocket } from '../../src/actors/socket.bridge';
import { emptyCounters, type CloseRecord, type ConnectionEvent, type SocketCommand, type SocketPort } from '../../src/protocol/events';

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

/** Bridges that answer the upgrade at once and record what happens to them. */
function bridges() {
  const made: { id: string; transport: unknown; commands: SocketCommand[]; disposed: number; report: (event: ConnectionEvent) => void }[] = [];
  const factory = (id: string, transport: unknown, report: (event: ConnectionEvent) => void): ConnectionSocket => {
    const bridge = { id, transport, commands: [] as SocketCommand[], disposed: 0, report };
    made.push(bridge);
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

function startPool() {
  const { made, factory } = bridges();
  const ended: CloseRecord[] = [];
  // As the real supervisor does, it takes note of a connection's failure (unhandled, it would fail the supervisor too).
  const supervisor = createActor(createMachine({ on: { 'xstate.error.actor.*': {} } })).start();
  const pool = createActor(createConnectionPool({ logic: connection, socket: factory }, {}, { onEnded: (record) => ended.push(record) }), {
    input: { supervisor },
  }).start();
  const spawn = (id: string) => {
    pool.send({ type: 'connections.spawn', id, transport: `transport of ${id}`, protocol: 'any' });
    return supervisor.system.get(id) as AnyActorRef;
  };
  return { made, ended, spawn, supervisor };
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

  it('disposes of the bridge of a connection that fails, and records the failure as 1011', () => {
    const { made, ended, spawn, supervisor } = startPool();
    const actor = spawn('conn-1');
    actor.send({ type: 'fail' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(made[0].disposed).toBe(1);
    expect(ended).toEqual([expect.objectContaining({ id: 'conn-1', code: 1011, clean: false })]);
    expect(supervisor.getSnapshot().status).toBe('active');
  });
});
