import { AssertionError } from 'node:assert';
import { assign, emit, setup } from 'xstate';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { echoMachine } from '../../machines/protocols/echo.machine';
import { createMemoryBroker } from '../../src/broker/memory.broker';
import { isHibernation, type Hibernation, type ProtocolActorInput, type ProtocolEmitted, type ProtocolInput } from '../../src/protocol/events';
import { builtinProtocols } from '../../src/protocols';
import { createTestConnection } from '../../src/testing';
import { scriptedProtocol } from '../machines/fakes';

/** A protocol that answers every message with its connection id and identity. */
const inputEcho = setup({
  types: { events: {} as ProtocolInput, input: {} as ProtocolActorInput, context: {} as ProtocolActorInput },
}).createMachine({
  context: ({ input }) => input,
  on: {
    'socket.messages': { actions: emit(({ context }) => ({ type: 'send' as const, messages: [`${context.connectionId} ${JSON.stringify(context.identity)}`] })) },
  },
});

const OPEN = { open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } };

/** A protocol that greets as it starts and numbers the messages it answers: what it had counted shows whether it was resumed. */
const numbering = setup({
  types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted, context: {} as { count: number } },
}).createMachine({
  context: { count: 0 },
  entry: emit({ type: 'send', messages: ['hello'] }),
  on: {
    'socket.messages': {
      actions: [
        assign({ count: ({ context, event }) => context.count + event.messages.length }),
        emit(({ context }) => ({ type: 'send' as const, messages: [`#${context.count}`] })),
      ],
    },
  },
});

const HEARTBEAT = 1_000;

describe('createTestConnection', () => {
  describe('#send and #expectSent', () => {
    it('takes the messages sent since the last expectSent, in order', () => {
      const conn = createTestConnection(echoMachine);
      conn.send('a');
      conn.expectSent('Echo: a');
      conn.send('b');
      conn.send('c');
      conn.expectSent('Echo: b', 'Echo: c');
      conn.expectSent();
      expect(conn.sent()).toEqual(['Echo: a', 'Echo: b', 'Echo: c']);
    });

    it('throws an AssertionError naming what was sent when it differs', () => {
      const conn = createTestConnection(echoMachine);
      conn.send('a');
      expect(() => conn.expectSent('Echo: b')).toThrow(AssertionError);
      expect(() => conn.expectSent('x')).toThrow('it sent []');
    });

    it('compares an expected object with the frame parsed as JSON, and fails on a frame that is not JSON', () => {
      const conn = createTestConnection(echoMachine);
      conn.send('{"a":1}');
      expect(() => conn.expectSent({ a: 1 })).toThrow(AssertionError);
      conn.send('x');
      expect(() => conn.expectSent({ type: 'x' })).toThrow('it sent ["Echo: x"]');
    });

    it('ignores an empty read, as no socket read is ever empty', () => {
      const conn = createTestConnection(echoMachine);
      conn.send([]);
      expect(conn.emitted()).toEqual([]);
    });
  });

  describe('#expectClosed', () => {
    it('throws while the connection is open', () => {
      const conn = createTestConnection(echoMachine);
      expect(() => conn.expectClosed(1000)).toThrow('expected the connection to close with 1000, but it is {"open":{"heartbeat":"idle","flow":"flowing","protocol":"running"}}');
    });

    it('throws when the code or the reason differs', () => {
      const conn = createTestConnection(echoMachine);
      conn.shutdown();
      expect(() => conn.expectClosed(1000)).toThrow(AssertionError);
      expect(() => conn.expectClosed(1001, 'nope')).toThrow('it closed with {"code":1001,"reason":"server shutting down"}');
    });

    it('sees the close frame before the client answered it', () => {
      const conn = createTestConnection(echoMachine, { autoClose: false });
      conn.shutdown();
      expect(conn.state()).toBe('closing');
      conn.expectClosed(1001, 'server shutting down');
      expect(conn.record()).toBeUndefined();
    });

    it('sees a code decided without a close frame (a terminated peer)', () => {
      const conn = createTestConnection(echoMachine, { autoClose: false, autoPong: false, heartbeatInterval: 10, pongTimeout: 5 });
      conn.advance(15);
      expect(conn.state()).toBe('terminating');
      conn.expectClosed(4000);
    });
  });

  describe('#advance', () => {
    it('runs chained delays in order within one call: a ping at the interval, the termination at the pong deadline', () => {
      const conn = createTestConnection(echoMachine, { heartbeatInterval: 1000, pongTimeout: 300, autoPong: false, autoClose: false });
      conn.advance(1299);
      expect(conn.pings()).toBe(1);
      expect(conn.state()).toEqual({ open: { heartbeat: 'awaitingPong', flow: 'flowing', protocol: 'running' } });
      conn.advance(1);
      expect(conn.state()).toBe('terminating');
      expect(conn.commands().filter((c) => c.type === 'socket.ping' || c.type === 'socket.terminate')).toEqual([{ type: 'socket.ping' }, { type: 'socket.terminate' }]);
    });

    it('keeps a client that answers pings by itself (autoPong, the default)', () => {
      const conn = createTestConnection(echoMachine, { heartbeatInterval: 1000, pongTimeout: 300 });
      conn.advance(10_000);
      expect(conn.pings()).toBe(10);
      expect(conn.state()).toEqual(OPEN);
    });

    it('terminates a client that never answers the close frame after closeTimeout, reporting 4001', () => {
      const conn = createTestConnection(echoMachine, { autoClose: false, closeTimeout: 500 });
      conn.shutdown();
      conn.advance(500);
      expect(conn.state()).toBe('terminating');
      conn.close();
      expect(conn.record()).toMatchObject({ code: 4001, clean: false });
    });
  });

  describe('#close', () => {
    it('closes from the client with 1000 by default and records the client\'s code', () => {
      const conn = createTestConnection(echoMachine);
      conn.close();
      expect(conn.state()).toBe('closed');
      expect(conn.record()).toMatchObject({ code: 1000, reason: '', clean: true });
    });

    it('answers the server\'s close frame with its code by default', () => {
      const conn = createTestConnection(scriptedProtocol, { autoClose: false });
      conn.send('close 4100');
      conn.close();
      expect(conn.record()).toMatchObject({ code: 4100, reason: 'bye', clean: true });
    });

    it('reports a drop (1006) by default once the socket was terminated', () => {
      const conn = createTestConnection(echoMachine, { autoClose: false });
      conn.terminate();
      conn.close();
      expect(conn.record()).toMatchObject({ code: 4002, clean: false });
    });

    it('takes an explicit code and reason', () => {
      const conn = createTestConnection(echoMachine);
      conn.close(4321, 'client says so');
      expect(conn.record()).toMatchObject({ code: 4321, reason: 'client says so' });
    });

    it('reports the close once, as ws does', () => {
      const conn = createTestConnection(echoMachine);
      conn.close(1000);
      conn.close(1001);
      expect(conn.record()).toMatchObject({ code: 1000 });
    });
  });

  describe('protocol closes and failures', () => {
    it.each([1000, 1011, 3000, 4100])('closes with the code the protocol asks for (%i)', (code) => {
      const conn = createTestConnection(scriptedProtocol);
      conn.send(`close ${code}`);
      conn.expectClosed(code, 'bye');
    });

    it.each([999, 1004, 1005, 1006, 1015, 2999, 5000])('closes with 1011 when the protocol asks for a code that may not be sent (%i)', (code) => {
      const conn = createTestConnection(scriptedProtocol);
      conn.send(`close ${code}`);
      conn.expectClosed(1011, `protocol asked for an invalid close code ${code}`);
    });

    it('restarts a protocol that throws, tells the client, and goes on with the next messages', () => {
      const conn = createTestConnection(scriptedProtocol, { protocolName: 'scripted' });
      const first = conn.protocol;
      conn.send('throw');
      conn.expectSent({ type: 'error', code: 'protocol_crash', message: 'the scripted protocol failed and was restarted' });
      expect(conn.protocol).not.toBe(first);
      conn.send('still here');
      conn.expectSent('still here');
    });

    it('closes with 1011 once the protocol has spent its restart budget, and forgets crashes older than restartWindow', () => {
      const conn = createTestConnection(scriptedProtocol, { maxRestarts: 1, restartWindow: 1000 });
      conn.send('throw');
      conn.advance(1000);
      conn.send('throw');
      expect(conn.state()).toEqual(OPEN);
      conn.send('throw');
      conn.expectClosed(1011, 'protocol failed beyond its restart budget');
    });

    it('counts messages read after the close decision as undelivered', () => {
      const conn = createTestConnection(echoMachine, { autoClose: false });
      conn.shutdown();
      conn.send(['late', 'later']);
      conn.sendBinary();
      conn.sendBytes(new Uint8Array([0xff]));
      conn.expectSent();
      conn.close();
      expect(conn.record()).toMatchObject({ messagesIn: 0, undelivered: { readAfterClose: 4, socketClosed: 0 } });
    });

    it('closes a slow consumer with 4003', () => {
      const conn = createTestConnection(echoMachine);
      conn.report({ type: 'outbox.overflow' });
      conn.expectClosed(4003);
    });
  });

  describe('#stall and #resume (a slow consumer)', () => {
    const big = 'x'.repeat(600); // echoed as 606 bytes
    const CONGESTED = { open: { heartbeat: 'idle', flow: 'congested', protocol: 'running' } };

    it('congests the outbox while the client does not read, and flows again once it does', () => {
      const conn = createTestConnection(echoMachine, { outboxLimit: 1000 });
      conn.stall();
      conn.send(big);
      conn.send(big);
      expect(conn.state()).toEqual(CONGESTED);
      conn.expectSent();
      conn.resume();
      expect(conn.state()).toEqual(OPEN);
      conn.expectSent(`Echo: ${big}`, `Echo: ${big}`);
    });

    it('closes a client that falls past the outbox limit with 4003 (slowConsumer: close)', () => {
      const conn = createTestConnection(echoMachine, { outboxLimit: 1000 });
      conn.stall();
      conn.send([big, big, big]);
      conn.expectClosed(4003, 'slow consumer: outbox limit reached');
      expect(conn.record()).toMatchObject({ enqueued: 3, dropped: { close: 1, 'drop-newest': 0, 'drop-oldest': 0 } });
    });

    it('drops what does not fit with slowConsumer: drop-newest, and keeps the connection', () => {
      const conn = createTestConnection(echoMachine, { outboxLimit: 1000, slowConsumer: 'drop-newest' });
      conn.stall();
      conn.send([big, big, big]);
      conn.resume();
      expect(conn.state()).toEqual(OPEN);
      expect(conn.sent()).toHaveLength(2);
      conn.close();
      expect(conn.record()).toMatchObject({ dropped: { close: 0, 'drop-newest': 1, 'drop-oldest': 0 } });
    });
  });

  describe('options', () => {
    it('waits in upgrading until open() with open: false', () => {
      const conn = createTestConnection(echoMachine, { open: false });
      expect(conn.state()).toEqual({ connecting: 'upgrading' });
      expect(conn.commands()).toEqual([{ type: 'socket.upgrade' }]);
      expect(() => conn.protocol).toThrow(/no protocol runs before the connection opens/);
      conn.open();
      expect(conn.state()).toEqual(OPEN);
      // The protocol starts as the connection opens.
      expect(conn.commands()).toEqual([{ type: 'socket.upgrade' }, expect.objectContaining({ type: 'socket.protocol', restarted: false })]);
    });

    it('delivers what a protocol sends as it starts (a greeting), eager or lazy', () => {
      const greeter = setup({ types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted } }).createMachine({
        entry: emit({ type: 'send', messages: ['hello'] }),
        on: { 'socket.messages': { actions: emit(({ event }) => ({ type: 'send' as const, messages: event.messages })) } },
      });
      const eager = createTestConnection(greeter);
      expect(eager.sent()).toEqual(['hello']);
      const lazy = createTestConnection({ name: 'greeter', machine: greeter, start: 'message' });
      expect(lazy.sent()).toEqual([]);
      lazy.send('hi');
      expect(lazy.sent()).toEqual(['hello', 'hi']);
    });

    it('hands the protocol its identity', () => {
      const conn = createTestConnection(inputEcho, { identity: { user: 'ada' }, id: 'conn-7' });
      conn.send('who');
      conn.expectSent('conn-7 {"user":"ada"}');
    });

    it('holds the connection in authenticating until accept() with identity: manual', () => {
      const conn = createTestConnection(inputEcho, { identity: 'manual' });
      expect(conn.state()).toEqual({ connecting: 'authenticating' });
      expect(() => conn.protocol).toThrow('no protocol runs before the connection opens');
      expect(conn.protocolState()).toBeUndefined();
      conn.accept('ada');
      conn.send('who');
      conn.expectSent('test-1 "ada"');
      expect(() => conn.accept('again')).toThrow("accept() and reject() need identity: 'manual'");
    });

    it('refuses the upgrade with 401, or the status reject() gives', () => {
      const unauthorized = createTestConnection(echoMachine, { identity: 'manual' });
      unauthorized.reject();
      expect(unauthorized.commands()).toEqual([{ type: 'socket.refuse', status: 401, message: 'unauthorized' }]);
      expect(unauthorized.record()).toMatchObject({ code: 4401, clean: false });
      const forbidden = createTestConnection(echoMachine, { identity: 'manual', autoClose: false });
      forbidden.reject({ status: 403, message: 'not you' });
      expect(forbidden.state()).toBe('rejected');
      forbidden.close();
      expect(forbidden.record()).toMatchObject({ code: 4403, reason: 'not you' });
    });

    it('hands the protocol identity null when accept() names none', () => {
      const conn = createTestConnection(inputEcho, { identity: 'manual' });
      conn.accept();
      conn.send('who');
      conn.expectSent('test-1 null');
    });

    it('says forbidden when a 403 rejection gives no message', () => {
      const conn = createTestConnection(echoMachine, { identity: 'manual' });
      conn.reject({ status: 403 });
      expect(conn.record()).toMatchObject({ code: 4403, reason: 'forbidden' });
    });

    it('names the protocol of a definition in close reasons', () => {
      const conn = createTestConnection({ name: 'chat', machine: echoMachine });
      conn.sendBinary();
      conn.expectClosed(1003, 'chat accepts text frames only');
    });

    it('hands the inspection observer every event of the connection and its protocol', () => {
      const events: InspectionEvent[] = [];
      const conn = createTestConnection(echoMachine, { inspect: (event) => events.push(event), id: 'conn-9' });
      conn.send('x');
      const ids = new Set(events.map((e) => (e.actorRef as AnyActorRef).id));
      for (const id of [conn.actor.id, 'protocol']) expect(ids).toContain(id);
      expect(events.some((e) => e.type === '@xstate.event' && e.event.type === 'socket.messages')).toBe(true);
    });

    it('stops the connection and its protocol', () => {
      const conn = createTestConnection(echoMachine);
      conn.stop();
      expect(conn.actor.getSnapshot().status).toBe('stopped');
      expect(conn.protocol.getSnapshot().status).toBe('stopped');
    });
  });

  it('surfaces a failure of the connection actor in the next call, instead of out of band', () => {
    const conn = createTestConnection(echoMachine);
    // The socket bridge crashing: nothing handles that, by design.
    conn.actor.send({ type: 'xstate.error.actor.socket', error: new Error('bridge bug') } as never);
    expect(() => conn.send('x')).toThrow('statewire/testing: the connection actor failed: Error: bridge bug');
  });

  it('shows every event a protocol emits, its own included, and its state', () => {
    const counter = setup({
      types: { events: {} as ProtocolInput, emitted: {} as { type: 'counted'; n: number } },
    }).createMachine({
      initial: 'zero',
      states: { zero: { on: { 'socket.messages': { target: 'some', actions: emit(({ event }) => ({ type: 'counted' as const, n: event.messages.length })) } } }, some: {} },
    });
    const conn = createTestConnection(counter);
    conn.send(['a', 'b']);
    expect(conn.emitted()).toEqual([{ type: 'counted', n: 2 }]);
    expect(conn.protocolState()).toBe('some');
    conn.sendBinary();
    conn.expectClosed(1003, 'protocol accepts text frames only');
  });

  describe('hibernation (hibernate: true)', () => {
    const hibernating = { hibernate: true, heartbeatInterval: HEARTBEAT, pongTimeout: 300 };

    it('does not hibernate after a heartbeat period with traffic, and does after a quiet one', () => {
      const conn = createTestConnection(echoMachine, hibernating);
      conn.send('hi');
      conn.expectSent('Echo: hi');
      conn.advance(HEARTBEAT);
      expect(conn.pings()).toBe(1);
      expect(conn.hibernated()).toBe(false);
      expect(conn.state()).toEqual(OPEN);
      conn.advance(HEARTBEAT);
      expect(conn.pings()).toBe(2);
      expect(conn.hibernated()).toBe(true);
      expect(conn.state()).toBe('hibernated');
      expect(conn.actor.getSnapshot().status).toBe('done');
      expect(isHibernation(conn.actor.getSnapshot().output)).toBe(true);
      expect(conn.record()).toBeUndefined();
    });

    it('sends no pings while hibernated', () => {
      const conn = createTestConnection(echoMachine, hibernating);
      conn.advance(HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      conn.advance(10 * HEARTBEAT);
      expect(conn.pings()).toBe(1);
    });

    it('wakes with the next message: a fresh actor, open at once, answers it', () => {
      const conn = createTestConnection(echoMachine, hibernating);
      conn.send('hi');
      conn.advance(2 * HEARTBEAT);
      const asleep = conn.actor;
      expect(conn.hibernated()).toBe(true);
      conn.expectSent('Echo: hi');
      conn.send('again');
      conn.expectSent('Echo: again');
      expect(conn.hibernated()).toBe(false);
      expect(conn.actor).not.toBe(asleep);
      expect(conn.actor.getSnapshot().status).toBe('active');
      expect(conn.state()).toEqual(OPEN);
      // Woken, not reopened: the socket was upgraded once.
      expect(conn.commands().filter((c) => c.type === 'socket.upgrade')).toHaveLength(1);
    });

    it('resumes its protocol where it was, without running its entry actions again', () => {
      const conn = createTestConnection(numbering, hibernating);
      conn.send(['a', 'b']);
      conn.expectSent('hello', '#2');
      conn.advance(2 * HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      conn.send('c');
      conn.expectSent('#3');
    });

    it('hibernates again after waking, once quiet for a whole heartbeat period', () => {
      const conn = createTestConnection(numbering, hibernating);
      conn.advance(2 * HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      const first = conn.actor;
      conn.send('a');
      const woken = conn.actor;
      expect(woken).not.toBe(first);
      conn.advance(HEARTBEAT);
      expect(conn.hibernated()).toBe(false);
      conn.advance(HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      expect(conn.actor).toBe(woken);
      conn.send('b');
      conn.expectSent('hello', '#1', '#2');
    });

    it('starts a lazy protocol that had not started yet with the first message after waking', () => {
      const conn = createTestConnection(builtinProtocols.echo, hibernating);
      conn.advance(HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      expect(conn.actor.getSnapshot().output).toMatchObject({ hibernated: true, protocol: null });
      conn.send('first');
      conn.expectSent('Echo: first');
    });

    it('keeps the identity authenticate returned', () => {
      const conn = createTestConnection(inputEcho, { ...hibernating, identity: { user: 'ada' }, id: 'conn-7' });
      conn.advance(2 * HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      conn.send('who');
      expect(conn.actor.getSnapshot().context.identity).toEqual({ user: 'ada' });
      conn.expectSent('conn-7 {"user":"ada"}');
    });

    it('lets the client say whether it was quiet: pong(false) keeps it awake, pong(true) hibernates it', () => {
      const conn = createTestConnection(echoMachine, { ...hibernating, autoPong: false });
      conn.advance(HEARTBEAT);
      conn.pong(false);
      expect(conn.hibernated()).toBe(false);
      conn.advance(HEARTBEAT);
      conn.pong(true);
      expect(conn.hibernated()).toBe(true);
    });

    it('does not hibernate by default (hibernate: false)', () => {
      const conn = createTestConnection(echoMachine, { heartbeatInterval: HEARTBEAT });
      conn.advance(5 * HEARTBEAT);
      expect(conn.pings()).toBe(5);
      expect(conn.hibernated()).toBe(false);
      expect(conn.state()).toEqual(OPEN);
    });

    it('does not hibernate while the protocol has a delayed event pending', () => {
      const timed = setup({ types: { events: {} as ProtocolInput } }).createMachine({
        initial: 'waiting',
        states: { waiting: { after: { 10_000: 'done' } }, done: {} },
      });
      const conn = createTestConnection(timed, hibernating);
      conn.advance(HEARTBEAT);
      expect(conn.hibernated()).toBe(false);
      conn.advance(10_000);
      expect(conn.hibernated()).toBe(true);
    });

    it('keeps its topic subscriptions: a message published on a shared broker reaches it without waking it', () => {
      const broker = createMemoryBroker();
      const alice = createTestConnection(builtinProtocols.topics, { ...hibernating, broker, id: 'alice' });
      const bob = createTestConnection(builtinProtocols.topics, { broker, id: 'bob' });
      alice.sendJson({ type: 'subscribe', topic: 'room:1', ref: 'a' });
      bob.sendJson({ type: 'subscribe', topic: 'room:1', ref: 'b' });
      alice.expectSent({ type: 'reply', ref: 'a', status: 'ok' });
      alice.advance(2 * HEARTBEAT);
      expect(alice.hibernated()).toBe(true);
      const asleep = alice.actor;

      bob.sendJson({ type: 'publish', topic: 'room:1', payload: 'hi', ref: 'p' });

      alice.expectSent({ type: 'message', topic: 'room:1', payload: 'hi' });
      expect(alice.hibernated()).toBe(true);
      expect(alice.actor).toBe(asleep);
      expect(broker.subscribers('room:1')).toBe(2);
      // Woken, its protocol still knows the topic: leaving it succeeds, and the subscription goes.
      alice.sendJson({ type: 'unsubscribe', topic: 'room:1', ref: 'u' });
      alice.expectSent({ type: 'reply', ref: 'u', status: 'ok' });
      expect(broker.subscribers('room:1')).toBe(1);
    });

    it('closes with 1001 on a shutdown while hibernated', () => {
      const conn = createTestConnection(echoMachine, hibernating);
      conn.advance(HEARTBEAT);
      expect(conn.hibernated()).toBe(true);
      conn.shutdown();
      expect(conn.hibernated()).toBe(false);
      conn.expectClosed(1001, 'server shutting down');
      expect(conn.state()).toBe('closed');
      expect(conn.record()).toMatchObject({ code: 1001, clean: true });
    });

    it('starts as a connection waking from hibernation with resume: open at once, its protocol resumed', () => {
      const first = createTestConnection(numbering, hibernating);
      first.send('a');
      first.advance(2 * HEARTBEAT);
      const hibernation = first.actor.getSnapshot().output as Hibernation;
      expect(hibernation).toMatchObject({ id: 'test-1', hibernated: true, identity: null });

      const conn = createTestConnection(numbering, { resume: hibernation, open: false });
      expect(conn.state()).toEqual(OPEN);
      // Open without an upgrade (open: false would hold a fresh connection in upgrading).
      expect(conn.commands().map((c) => c.type)).toEqual(['socket.protocol']);
      conn.send('b');
      conn.expectSent('#2');
    });
  });
});
