import { createActor, fromPromise, setup, SimulatedClock } from 'xstate';
import type { AnyActorLogic } from 'xstate';
import { connectionMachine, type ConnectionInput } from '../../machines/connection.machine';
import { CloseCode } from '../../src/protocol/close-codes';
import type { ProtocolActorInput } from '../../src/protocol/events';
import { fakeSocket, scriptedProtocol } from './fakes';

const WINDOW = 1000;
const started: { stop(): void }[] = [];
afterEach(() => started.splice(0).forEach((actor) => actor.stop()));

function start(input: Partial<ConnectionInput> = {}, actors: { authenticate?: AnyActorLogic; protocol?: AnyActorLogic } = {}) {
  const socket = fakeSocket();
  const clock = new SimulatedClock();
  const machine = connectionMachine.provide({
    actors: { protocol: actors.protocol ?? scriptedProtocol, ...(actors.authenticate ? { authenticate: actors.authenticate } : {}) },
    delays: { restartWindow: WINDOW },
  });
  const actor = socket.attach(createActor(machine, { clock, input: { id: 'conn-1', transport: null, socket: socket.port, ...input } }));
  started.push(actor.start());
  const crash = () => actor.getSnapshot().context.protocol!.send({ type: 'socket.messages', messages: ['throw'] });
  return { actor, socket, clock, crash };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('connection machine: the protocol actor', () => {
  it('restarts a crashed protocol up to maxRestarts times within restartWindow, then closes with 1011', () => {
    const { actor, socket, crash } = start({ maxRestarts: 2 });
    crash();
    crash();
    expect(socket.wired.map((w) => w.restarted)).toEqual([false, true, true]);
    expect(actor.getSnapshot().context.restarts).toBe(2);
    crash();
    expect(socket.commands).toEqual([
      { type: 'socket.close', code: CloseCode.InternalError, reason: 'protocol failed beyond its restart budget' },
    ]);
  });

  it('gets its budget back as restarts leave the window', () => {
    const { actor, socket, crash, clock } = start({ maxRestarts: 1 });
    crash();
    clock.increment(WINDOW);
    expect(actor.getSnapshot().context.restarts).toBe(0);
    crash();
    expect(socket.commands).toEqual([]);
    expect(socket.wired).toHaveLength(3);
  });

  it('hands the protocol its connection id, identity and topic limit', () => {
    let seen: ProtocolActorInput | null = null;
    const recorder = setup({ types: { input: {} as ProtocolActorInput } }).createMachine({
      context: ({ input }) => {
        seen = input;
        return {};
      },
    });
    start({ maxTopics: 7 }, { protocol: recorder });
    expect(seen).toEqual({ connectionId: 'conn-1', identity: null, maxTopics: 7 });
  });
});

describe('connection machine: authentication', () => {
  it('authenticates before upgrading and hands the identity to the protocol', async () => {
    let identity: unknown = 'unset';
    const recorder = setup({ types: { input: {} as ProtocolActorInput } }).createMachine({
      context: ({ input }) => {
        identity = input.identity;
        return {};
      },
    });
    const authenticate = fromPromise(async () => ({ user: 'ada' }));
    const { actor } = start({ authenticate: true }, { authenticate, protocol: recorder });
    expect(actor.getSnapshot().value).toEqual({ connecting: 'authenticating' });
    await flush();
    expect(actor.getSnapshot().value).toMatchObject({ open: { protocol: 'running' } });
    expect(identity).toEqual({ user: 'ada' });
  });

  it.each([
    [{ status: 403, message: 'banned' }, 403, CloseCode.Forbidden, 'banned'],
    [new Error('bad token'), 401, CloseCode.Unauthorized, 'bad token'],
    [undefined, 401, CloseCode.Unauthorized, 'unauthorized'],
  ])('refuses the upgrade when authenticate rejects (%p gives %i)', async (rejection, status, code, message) => {
    const authenticate = fromPromise(async () => {
      throw rejection;
    });
    const { actor, socket } = start({ authenticate: true }, { authenticate });
    await flush();
    expect(actor.getSnapshot().value).toBe('rejected');
    expect(socket.commands).toEqual([{ type: 'socket.refuse', status, message }]);
    expect(socket.wired).toEqual([]);
    socket.closed(CloseCode.Abnormal);
    expect(actor.getSnapshot().output).toMatchObject({ code, clean: false });
  });

  it('refuses with 503 when the server drains during authentication', () => {
    const authenticate = fromPromise(() => new Promise(() => undefined));
    const { actor, socket } = start({ authenticate: true }, { authenticate });
    actor.send({ type: 'server.shutdown' });
    expect(socket.commands).toEqual([{ type: 'socket.refuse', status: 503, message: 'server shutting down' }]);
  });
});
