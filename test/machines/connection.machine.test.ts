import fc from 'fast-check';
import { createActor, SimulatedClock } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine';
import { CloseCode } from '../../src/protocol/close-codes';
import { closeRecord, emptyCounters, UNDECIDED } from '../../src/protocol/events';
import { createTestConnection } from '../../src/testing';
import { fakeSocket, scriptedProtocol } from './fakes';

const HEARTBEAT = 1000;
const PONG = 300;
const CLOSE = 500;

const started: { stop(): void }[] = [];
afterEach(() => started.splice(0).forEach((actor) => actor.stop()));

function start() {
  const socket = fakeSocket();
  const clock = new SimulatedClock();
  const machine = connectionMachine.provide({
    actors: { protocol: scriptedProtocol },
    delays: { heartbeatInterval: HEARTBEAT, pongTimeout: PONG, closeTimeout: CLOSE },
  });
  const actor = socket.attach(createActor(machine, { clock, input: { id: 'conn-1', transport: null, socket: socket.port } }));
  started.push(actor.start());
  return { actor, socket, clock };
}

describe('connection machine', () => {
  it('opens when the socket reports open', () => {
    const { actor } = start();
    expect(actor.getSnapshot().value).toEqual({ open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } });
  });

  describe('heartbeat (through statewire/testing)', () => {
    const options = { heartbeatInterval: HEARTBEAT, pongTimeout: PONG, closeTimeout: CLOSE, autoPong: false, autoClose: false };

    it('pings after heartbeatInterval and returns to idle on pong', () => {
      const conn = createTestConnection(scriptedProtocol, options);
      conn.advance(HEARTBEAT - 1);
      expect(conn.pings()).toBe(0);
      conn.advance(1);
      expect(conn.pings()).toBe(1);
      expect(conn.state()).toEqual({ open: { heartbeat: 'awaitingPong', flow: 'flowing', protocol: 'running' } });
      conn.pong();
      expect(conn.state()).toEqual({ open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } });
      conn.advance(HEARTBEAT);
      expect(conn.pings()).toBe(2);
    });

    it('terminates a peer that does not answer within pongTimeout and reports heartbeat timeout', () => {
      const conn = createTestConnection(scriptedProtocol, options);
      // One call: the ping at HEARTBEAT starts the pong deadline, which fires PONG later, in order.
      conn.advance(HEARTBEAT + PONG);
      expect(conn.commands().filter((c) => c.type === 'socket.ping' || c.type === 'socket.terminate')).toEqual([{ type: 'socket.ping' }, { type: 'socket.terminate' }]);
      expect(conn.state()).toBe('terminating');
      conn.close(CloseCode.Abnormal);
      expect(conn.actor.getSnapshot().status).toBe('done');
      expect(conn.record()).toMatchObject({ code: CloseCode.HeartbeatTimeout, clean: false });
    });
  });

  describe('a hibernated connection closing', () => {
    // The pool ends a connection whose socket closes while it hibernates without waking it, recording
    // closeRecord(id, UNDECIDED, event): exactly what an actor woken for that close outputs.
    it('outputs, woken for its close, the record the pool makes without waking it, for any close', () => {
      const counter = fc.nat({ max: 1_000_000 });
      const closed = fc.record({
        type: fc.constant('socket.closed' as const),
        code: fc.oneof(fc.constantFrom(1000, 1001, 1005, 1006, 4000, 4001, 4002, 4003), fc.integer({ min: 1000, max: 4999 })),
        reason: fc.string({ maxLength: 30 }),
        counters: fc.record({
          messagesIn: counter,
          bytesIn: counter,
          enqueued: counter,
          messagesOut: counter,
          bytesOut: counter,
          dropped: fc.record({ close: counter, 'drop-newest': counter, 'drop-oldest': counter }),
          undelivered: fc.record({ readAfterClose: counter, socketClosed: counter }),
        }),
      });
      const machine = connectionMachine.provide({ actors: { protocol: scriptedProtocol } });
      fc.assert(
        fc.property(fc.constantFrom(null, { status: 'active', value: 'idle', context: {}, children: {} }), closed, (protocol, event) => {
          const socket = fakeSocket();
          const resume = { id: 'conn-7', hibernated: true as const, protocol, identity: { user: 'ada' } };
          const actor = socket.attach(createActor(machine, { input: { id: 'conn-7', transport: null, socket: socket.port, resume } })).start();
          actor.send(event);
          expect(actor.getSnapshot().status).toBe('done');
          expect(actor.getSnapshot().output).toEqual(closeRecord('conn-7', UNDECIDED, event));
        }),
      );
    });
  });

  describe('closing', () => {
    it('closes with 1001 on server shutdown and records a clean close', () => {
      const { actor, socket } = start();
      actor.send({ type: 'server.shutdown' });
      expect(socket.commands).toEqual([{ type: 'socket.close', code: 1001, reason: 'server shutting down' }]);
      expect(actor.getSnapshot().value).toBe('closing');
      const counters = { ...emptyCounters(), messagesIn: 3, enqueued: 3, messagesOut: 3 };
      socket.closed(1001, 'server shutting down', counters);
      expect(actor.getSnapshot().output).toEqual({ id: 'conn-1', code: 1001, reason: 'server shutting down', clean: true, ...counters });
    });

    it('terminates after closeTimeout when the peer never answers the close frame', () => {
      const { actor, socket, clock } = start();
      actor.send({ type: 'server.shutdown' });
      clock.increment(CLOSE - 1);
      expect(actor.getSnapshot().value).toBe('closing');
      clock.increment(1);
      expect(socket.commands.at(-1)).toEqual({ type: 'socket.terminate' });
      socket.closed(CloseCode.Abnormal);
      expect(actor.getSnapshot().output).toMatchObject({ code: CloseCode.CloseTimeout, clean: false });
    });

    it('stops the heartbeat once closing', () => {
      const { socket, clock, actor } = start();
      actor.send({ type: 'server.shutdown' });
      clock.increment(HEARTBEAT);
      expect(socket.commands.filter((c) => c.type === 'socket.ping')).toEqual([]);
    });

    it('terminates at once when the drain deadline passes', () => {
      const { actor, socket } = start();
      actor.send({ type: 'server.shutdown' });
      actor.send({ type: 'server.terminate' });
      expect(socket.commands.at(-1)).toEqual({ type: 'socket.terminate' });
      socket.closed(CloseCode.Abnormal);
      expect(actor.getSnapshot().output).toMatchObject({ code: CloseCode.DrainTimeout, clean: false });
    });

    it.each([
      ['message_too_big', CloseCode.MessageTooBig],
      ['invalid_utf8', CloseCode.InvalidPayload],
      ['unsupported_data', CloseCode.UnsupportedData],
      ['protocol_error', CloseCode.ProtocolError],
    ])('closes with the failure\'s close code (%s, %i)', (code, closeCode) => {
      const { actor, socket } = start();
      actor.send({ type: 'socket.failed', failure: { code, closeCode, message: 'bad frame' } });
      expect(socket.commands).toEqual([{ type: 'socket.close', code: closeCode, reason: 'bad frame' }]);
      socket.closed(closeCode, 'bad frame');
      expect(actor.getSnapshot().output).toMatchObject({ code: closeCode, clean: true });
    });

    it('closes with the code the protocol asks for', () => {
      const { actor, socket } = start();
      actor.send({ type: 'protocol.close', code: 4100, reason: 'done' });
      expect(socket.commands).toEqual([{ type: 'socket.close', code: 4100, reason: 'done' }]);
    });

    it('restarts the protocol actor when it fails, and keeps the socket', () => {
      const { actor, socket } = start();
      const protocol = actor.getSnapshot().context.protocol!;
      protocol.send({ type: 'socket.messages', messages: ['throw'] });
      expect(socket.commands).toEqual([]);
      expect(socket.wired.map((w) => w.restarted)).toEqual([false, true]);
      expect(actor.getSnapshot().context.protocol).not.toBe(protocol);
    });

    it('records the peer\'s code when the peer closes first', () => {
      const { actor, socket } = start();
      socket.closed(1000, 'bye');
      expect(actor.getSnapshot().output).toMatchObject({ code: 1000, reason: 'bye', clean: true });
    });

    it('records an abnormal drop as unclean', () => {
      const { actor, socket } = start();
      socket.closed(CloseCode.Abnormal);
      expect(actor.getSnapshot().output).toMatchObject({ code: CloseCode.Abnormal, clean: false });
    });
  });

  describe('flow', () => {
    it('shows congestion as the outbox reports it', () => {
      const { actor } = start();
      actor.send({ type: 'outbox.congested' });
      expect(actor.getSnapshot().value).toEqual({ open: { heartbeat: 'idle', flow: 'congested', protocol: 'running' } });
      actor.send({ type: 'outbox.flowing' });
      expect(actor.getSnapshot().value).toEqual({ open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } });
    });

    it('keeps the heartbeat running while congested', () => {
      const { actor, socket, clock } = start();
      actor.send({ type: 'outbox.congested' });
      clock.increment(HEARTBEAT);
      expect(socket.commands).toEqual([{ type: 'socket.ping' }]);
    });

    it('closes a slow consumer with 4003 on overflow', () => {
      const { actor, socket } = start();
      actor.send({ type: 'outbox.overflow' });
      expect(socket.commands).toEqual([{ type: 'socket.close', code: CloseCode.SlowConsumer, reason: 'slow consumer: outbox limit reached' }]);
    });

    it('terminates a slow consumer that cannot take its close frame, keeping 4003 in the record', () => {
      const { actor, socket, clock } = start();
      actor.send({ type: 'outbox.overflow' });
      clock.increment(CLOSE);
      expect(socket.commands.at(-1)).toEqual({ type: 'socket.terminate' });
      socket.closed(CloseCode.Abnormal);
      expect(actor.getSnapshot().output).toMatchObject({ code: CloseCode.SlowConsumer, clean: false });
    });
  });

  describe('connecting', () => {
    function startUnopened() {
      const socket = fakeSocket({ open: false });
      const machine = connectionMachine.provide({ actors: { protocol: scriptedProtocol } });
      const actor = socket.attach(createActor(machine, { input: { id: 'conn-2', transport: null, socket: socket.port } })).start();
      started.push(actor);
      return { actor, socket };
    }

    it('waits for the socket to open', () => {
      expect(startUnopened().actor.getSnapshot().value).toEqual({ connecting: 'upgrading' });
    });

    it('closes with 1001 when the server shuts down before the socket opened', () => {
      const { actor, socket } = startUnopened();
      actor.send({ type: 'server.shutdown' });
      expect(socket.commands).toEqual([{ type: 'socket.close', code: 1001, reason: 'server shutting down' }]);
    });

    it('terminates when the drain deadline passes before the socket opened', () => {
      const { actor, socket } = startUnopened();
      actor.send({ type: 'server.terminate' });
      expect(socket.commands).toEqual([{ type: 'socket.terminate' }]);
    });
  });
});
