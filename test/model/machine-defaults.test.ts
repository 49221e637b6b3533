import { createActor, SimulatedClock } from 'xstate';
import type { AnyActorLogic } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine';
import { echoMachine } from '../../machines/protocols/echo.machine';
import { supervisorMachine } from '../../machines/supervisor.machine';

/**
 * The model tests always provide every actor. These pin what the machines do
 * with their defaults: a missing effect is a programmer error that fails the
 * actor with a message naming what is missing.
 */
describe('machine defaults', () => {
  const input = { id: 'conn-1', transport: null, socket: { send: () => undefined } };

  /** Starts the actor with an error observer: a root actor's unobserved error is rethrown out of band. */
  function start(logic: AnyActorLogic, options: { input?: unknown; clock?: SimulatedClock } = {}) {
    const actor = createActor(logic, options);
    actor.subscribe({ error: () => undefined });
    return actor.start();
  }

  it('fails a connection started without its socket bridge, saying why', () => {
    const actor = start(connectionMachine, { input: { id: 'conn-1', transport: null } });
    expect(actor.getSnapshot().status).toBe('error');
    expect(actor.getSnapshot().error).toEqual(new Error('statewire: a connection needs its socket bridge as input.socket'));
  });

  it('closes a connection whose protocol actor was not provided with 1011 as it opens, as a protocol failing past its restart budget', () => {
    const actor = start(connectionMachine, { input });
    expect(actor.getSnapshot().value).toEqual({ connecting: 'upgrading' });
    actor.send({ type: 'socket.open' });
    expect(actor.getSnapshot().value).toBe('closing');
    expect(actor.getSnapshot().context).toMatchObject({ code: 1011, reason: 'protocol failed beyond its restart budget', restarts: 5 });
    actor.stop();
  });

  it('fails a supervisor whose listener was not provided, naming it', () => {
    const actor = start(supervisorMachine);
    expect(actor.getSnapshot().error).toEqual(new Error('statewire: the supervisor machine\'s "listener" actor was not provided'));
  });

  it('admits a connection with identity null when authentication is on but no authenticate hook was provided', async () => {
    const actor = start(connectionMachine.provide({ actors: { protocol: echoMachine } }), {
      input: { ...input, authenticate: true },
    });
    expect(actor.getSnapshot().value).toEqual({ connecting: 'authenticating' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(actor.getSnapshot().value).toEqual({ connecting: 'upgrading' });
    expect(actor.getSnapshot().context.identity).toBeNull();
    actor.stop();
  });

  /** An open connection, its heartbeat's ping due and sent, on simulated time. */
  function pinged(logic: AnyActorLogic) {
    const clock = new SimulatedClock();
    const actor = start(logic, { input, clock });
    actor.send({ type: 'socket.open' });
    clock.increment(25_000);
    expect(actor.getSnapshot().value).toMatchObject({ open: { heartbeat: 'awaitingPong' } });
    return actor;
  }

  it('never hibernates unless told that connections do (the server provides hibernates)', () => {
    const actor = pinged(connectionMachine.provide({ actors: { protocol: echoMachine }, guards: { startsLazily: () => true } }));
    actor.send({ type: 'socket.pong', quiet: true });
    expect(actor.getSnapshot().value).toMatchObject({ open: { heartbeat: 'idle', protocol: 'dormant' } });
    actor.stop();
  });

  it('hibernates, by default, only a connection whose protocol has not started: a running one might hold timers', () => {
    const hibernating = { actors: { protocol: echoMachine }, guards: { hibernates: () => true } };
    const dormant = pinged(connectionMachine.provide({ ...hibernating, guards: { ...hibernating.guards, startsLazily: () => true } }));
    dormant.send({ type: 'socket.pong', quiet: true });
    expect(dormant.getSnapshot().value).toBe('hibernated');
    expect(dormant.getSnapshot().output).toEqual({ id: 'conn-1', hibernated: true, protocol: null, identity: null });
    const running = pinged(connectionMachine.provide(hibernating));
    running.send({ type: 'socket.pong', quiet: true });
    expect(running.getSnapshot().value).toMatchObject({ open: { heartbeat: 'idle', protocol: 'running' } });
    running.stop();
  });
});
