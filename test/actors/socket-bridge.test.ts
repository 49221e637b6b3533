import { EventEmitter } from 'node:events';
import pino from 'pino';
import { WebSocket } from 'ws';
import { createActor } from 'xstate';
import type { OutboxSink } from '../../src/actors/outbox';
import { BridgedWebSocket, createSocketBridge, type ConnectionSocket, type LiveConnection } from '../../src/actors/socket.bridge';
import { createMemoryBroker } from '../../src/broker/memory.broker';
import type { ConnectionEvent } from '../../src/protocol/events';
import { SLEEP_RESOLUTION } from '../../src/actors/sleep-clock';
import { topicMember } from '../machines/fakes';
import { echoMachine } from '../../machines/protocols/echo.machine';
import { encodeTextFrames } from '../../src/actors/frames';

/** A server-side WebSocket without a socket, as ws makes one before `setSocket`. */
function bridged() {
  const ws = new BridgedWebSocket(null as never, undefined, {});
  const heard: unknown[][] = [];
  const bridge = {
    onMessage: (data: Buffer, isBinary: boolean) => void heard.push(['message', data.toString(), isBinary]),
    beforeClose: () => void heard.push(['before close']),
    onPong: () => void heard.push(['pong']),
    onError: (error: Error) => void heard.push(['error', error.message]),
    onClose: (code: number, reason: Buffer) => void heard.push(['close', code, reason.toString()]),
  };
  return { ws, heard, bridge };
}

describe('BridgedWebSocket', () => {
  it("hands ws's events to its bridge, without listeners", () => {
    const { ws, heard, bridge } = bridged();
    ws.bridge = bridge;
    ws.emit('message', Buffer.from('hi'), false);
    ws.emit('pong', Buffer.alloc(0));
    ws.emit('error', new Error('bad frame'));
    ws.emit('close', 1000, Buffer.from('bye'));
    expect(heard).toEqual([['message', 'hi', false], ['pong'], ['error', 'bad frame'], ['close', 1000, 'bye']]);
  });

  it('gives other events to their listeners, and data to listeners while no bridge is set', () => {
    const { ws, heard } = bridged();
    const pings: string[] = [];
    ws.on('ping', (data: Buffer) => pings.push(data.toString()));
    ws.on('message', (data: Buffer) => heard.push(['listener', data.toString()]));
    ws.emit('ping', Buffer.from('p'));
    ws.emit('message', Buffer.from('early'), false);
    expect(pings).toEqual(['p']);
    expect(heard).toEqual([['listener', 'early']]);
  });

  it('drops an error when no bridge is set (after the bridge has let go), instead of throwing it as an unheard error event', () => {
    const { ws, heard, bridge } = bridged();
    ws.bridge = bridge;
    ws.bridge = null;
    expect(() => ws.emit('error', new Error('late'))).not.toThrow();
    expect(heard).toEqual([]);
  });
});

const HEARTBEAT = 1_000;
const PONG_TIMEOUT = 300;

/**
 * A socket bridge on a fake upgraded WebSocket and a fake raw socket (no
 * network): `events` is what ws would hand the bridge, `reports` what the
 * bridge told its connection actor.
 */
function upgradedBridge(asleep = false) {
  const { bridge, ws, raw, broker, reports } = makeBridge(asleep);
  if (asleep) {
    expect(reports).toEqual([]);
  } else {
    bridge.send({ type: 'socket.upgrade' });
    expect(reports).toEqual([{ type: 'socket.open' }]);
    reports.length = 0;
  }
  return { bridge, ws, raw, broker, reports, events: ws.bridge! };
}

/**
 * A socket bridge on fakes, made (`asleep`: and upgraded) but not told
 * anything; `upgrades: false` is ws refusing the handshake. With
 * `wsOptions` (ws's server options as the bridge sees them), the upgrade adds
 * a `data` listener to the raw socket as ws does (ws's reader: it records
 * what it is handed).
 */
function makeBridge(asleep: boolean, upgrades = true, wsOptions: object | null = null) {
  const ws = { readyState: WebSocket.OPEN as number, bufferedAmount: 0, bridge: null as BridgedWebSocket['bridge'], ping: jest.fn(), close: jest.fn(), terminate: jest.fn() };
  const raw = Object.assign(new EventEmitter(), { write: jest.fn(() => true), destroy: jest.fn() });
  const handedToWs: Buffer[] = [];
  const wss = {
    options: wsOptions ?? {},
    handleUpgrade: (_request: unknown, _socket: unknown, _head: unknown, done: (ws: unknown) => void) => {
      if (!upgrades) return;
      if (wsOptions !== null) raw.on('data', (chunk: Buffer) => void handedToWs.push(Buffer.from(chunk)));
      done(ws);
    },
  };
  const broker = createMemoryBroker();
  const reports: ConnectionEvent[] = [];
  const factory = createSocketBridge({
    protocolName: 'test',
    codec: 'text',
    logger: pino({ level: 'silent' }),
    wss: wss as never,
    outboxLimit: 1024 * 1024,
    outboxPolicy: { reliable: 'close', volatile: 'drop-newest' },
    broker,
    badFrameTolerance: 10,
    heartbeatInterval: HEARTBEAT,
    pongTimeout: PONG_TIMEOUT,
  });
  const transport = { socket: raw, request: {}, head: Buffer.alloc(0), toJSON: () => ({ remote: 'test' }) };
  const bridge = factory('conn-1', transport, (event) => void reports.push(event), asleep) as ConnectionSocket & LiveConnection & OutboxSink;
  return { bridge, ws, raw, broker, reports, handedToWs };
}

function wired(bridge: ConnectionSocket) {
  const protocol = createActor(topicMember).start();
  bridge.send({ type: 'socket.protocol', protocol, restarted: false });
  return protocol;
}

describe('socket bridge', () => {
  describe('inbound messages', () => {
    it("hands a read's messages to the protocol as one event after the read, and writes its replies in one write as that delivery ends", async () => {
      const { bridge, events, raw } = upgradedBridge();
      bridge.send({ type: 'socket.protocol', protocol: createActor(echoMachine).start(), restarted: false });
      events.onMessage(Buffer.from('a'), false);
      events.onMessage(Buffer.from('b'), false);
      expect(raw.write).not.toHaveBeenCalled();
      // Queued after the delivery and before any flush the delivery could have scheduled for the end of the turn.
      const writesAfterDelivery = await new Promise<unknown[][]>((resolve) => process.nextTick(() => resolve([...raw.write.mock.calls])));
      expect(writesAfterDelivery).toEqual([[encodeTextFrames(['Echo: a', 'Echo: b'])]]);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(raw.write).toHaveBeenCalledTimes(1);
      expect(bridge.outbox.stats).toMatchObject({ enqueued: 2, written: 2 });
    });
  });

  describe("the socket's reads", () => {
    /** A masked client frame. */
    function frame(first: number, payload: Buffer | string): Buffer {
      const data = Buffer.from(payload);
      const mask = Buffer.from([1, 2, 3, 4]);
      const masked = data.map((byte, i) => byte ^ mask[i & 3]);
      const header = data.length < 126 ? Buffer.from([first, 0x80 | data.length]) : Buffer.from([first, 0xfe, data.length >> 8, data.length & 0xff]);
      return Buffer.concat([header, mask, masked]);
    }
    const text = (payload: string) => frame(0x81, payload);
    const ping = frame(0x89, 'p');

    const FAST_READS = { allowSynchronousEvents: true, perMessageDeflate: false, maxPayload: 1000 };

    /** An awake bridge whose socket ws has just upgraded, wired to echo; `read` is a socket read. */
    function reading() {
      const { bridge, raw, handedToWs, ws, reports } = makeBridge(false, true, FAST_READS);
      bridge.send({ type: 'socket.upgrade' });
      bridge.send({ type: 'socket.protocol', protocol: createActor(echoMachine).start(), restarted: false });
      const read = (...frames: Buffer[]) => void raw.emit('data', Buffer.concat(frames));
      return { bridge, raw, handedToWs, ws, reports, read };
    }

    it('decodes whole masked text frames itself and delivers them as the read ends, in one write, without ws', () => {
      const { raw, handedToWs, read, bridge } = reading();
      expect(raw.listenerCount('data')).toBe(1);
      read(text('a'), text('é'.repeat(100)));
      expect(raw.write.mock.calls).toEqual([[encodeTextFrames(['Echo: a', `Echo: ${'é'.repeat(100)}`])]]);
      expect(handedToWs).toEqual([]);
      expect(bridge).toMatchObject({ messagesIn: 2, bytesIn: 201 });
    });

    it('hands ws the rest of a read from its first other frame, and reads itself again once ws has nothing pending', () => {
      const { raw, handedToWs, read } = reading();
      read(text('a'), ping, text('b'));
      expect(handedToWs).toEqual([Buffer.concat([ping, text('b')])]);
      expect(raw.write.mock.calls).toEqual([[encodeTextFrames(['Echo: a'])]]);
      read(text('c'));
      expect(handedToWs).toHaveLength(1);
      expect(raw.write).toHaveBeenCalledTimes(2);
    });

    it('hands ws a frame split across reads, and every read until the frame is whole', () => {
      const { handedToWs, read } = reading();
      const long = text('x'.repeat(300));
      read(long.subarray(0, 3));
      read(long.subarray(3, 100));
      read(long.subarray(100), text('tail'));
      expect(Buffer.concat(handedToWs).equals(Buffer.concat([long, text('tail')]))).toBe(true);
      read(text('d'));
      expect(handedToWs).toHaveLength(3);
    });

    it('hands ws a fragmented message until its last fragment', () => {
      const { handedToWs, read } = reading();
      read(frame(0x01, 'a'));
      read(frame(0x80, 'b'));
      read(text('c'));
      expect(handedToWs).toEqual([frame(0x01, 'a'), frame(0x80, 'b')]);
    });

    it('hands ws a frame with invalid UTF-8 exactly as sent (still masked)', () => {
      const { handedToWs, read } = reading();
      const invalid = frame(0x81, Buffer.from([0xc3, 0x28]));
      read(text('ok'), invalid);
      expect(handedToWs).toEqual([invalid]);
    });

    it('hands ws frames past maxPayload and binary frames, which it rejects', () => {
      const { handedToWs, read } = reading();
      read(text('y'.repeat(1001)));
      const binary = frame(0x82, 'b');
      const next = reading();
      next.read(binary);
      expect(handedToWs).toEqual([text('y'.repeat(1001))]);
      expect(next.handedToWs).toEqual([binary]);
    });

    it('reads nothing more once a close frame has passed, or once ws has failed the connection', () => {
      const closing = reading();
      closing.read(frame(0x88, Buffer.from([0x03, 0xe8])));
      closing.read(text('late'));
      expect(closing.handedToWs).toHaveLength(1);
      expect(closing.raw.write).not.toHaveBeenCalled();

      const failed = reading();
      failed.read(frame(0x83, 'x'));
      failed.ws.bridge!.onError(Object.assign(new Error('invalid opcode 3'), { code: 'WS_ERR_INVALID_OPCODE' }));
      failed.read(text('late'));
      expect(failed.handedToWs).toHaveLength(1);
      expect(failed.raw.write).not.toHaveBeenCalled();
      // Not read at all, as ws would not: not even counted as read after the close.
      expect(failed.bridge).toMatchObject({ messagesIn: 0, readAfterClose: 0 });
    });

    it.each([
      ['events deferred', { ...FAST_READS, allowSynchronousEvents: false }],
      ['compression', { ...FAST_READS, perMessageDeflate: { threshold: 0 } }],
    ])("leaves the socket's reads to ws where ws could hold data back between reads (%s)", (_case, options) => {
      const { raw, handedToWs } = makeBridge(true, true, options);
      raw.emit('data', text('a'));
      expect(handedToWs).toEqual([text('a')]);
      expect(raw.listenerCount('data')).toBe(1);
    });
  });

  describe('the raw socket before the upgrade', () => {
    const closedAbnormally = { type: 'socket.closed', code: 1006, reason: '', counters: expect.objectContaining({ messagesIn: 0 }) };

    it('is watched while the connection waits for its actor (authenticating): its errors ignored, its end the connection\'s, 1006', () => {
      const { raw, reports } = makeBridge(false);
      expect(raw.listenerCount('close')).toBe(1);
      expect(() => raw.emit('error', new Error('ECONNRESET'))).not.toThrow();
      raw.emit('close');
      expect(reports).toEqual([closedAbnormally]);
    });

    it('is let go of once upgraded, awake or asleep (ws handles its errors from then on)', () => {
      const awake = makeBridge(false);
      awake.bridge.send({ type: 'socket.upgrade' });
      const asleep = makeBridge(true);
      for (const { raw } of [awake, asleep]) expect([raw.listenerCount('close'), raw.listenerCount('error')]).toEqual([0, 0]);
    });

    it('is watched after all when ws refuses the upgrade of a connection opening asleep: its end is the connection\'s', () => {
      const { raw, reports } = makeBridge(true, false);
      expect(raw.listenerCount('close')).toBe(1);
      raw.emit('close');
      expect(reports).toEqual([closedAbnormally]);
    });
  });

  describe('pong: whether the connection was quiet since the last one', () => {
    it('reports a pong after an inbound message as not quiet, and the next one, after nothing, as quiet', () => {
      const { events, reports } = upgradedBridge();
      events.onMessage(Buffer.from('hi'), false);
      events.onPong();
      events.onPong();
      expect(reports).toEqual([{ type: 'socket.data' }, { type: 'socket.pong', quiet: false }, { type: 'socket.pong', quiet: true }]);
    });

    it('reports a pong with nothing read or written since the upgrade as quiet', () => {
      const { events, reports } = upgradedBridge();
      events.onPong();
      expect(reports).toEqual([{ type: 'socket.pong', quiet: true }]);
    });

    it('counts a write as activity', () => {
      const { bridge, events, reports, raw } = upgradedBridge();
      bridge.outbox.push('out');
      bridge.outbox.flush({ force: true });
      expect(raw.write).toHaveBeenCalledTimes(1);
      events.onPong();
      expect(reports).toEqual([{ type: 'socket.pong', quiet: false }]);
    });

    it('is not quiet while the outbox still holds messages', () => {
      const { bridge, events, reports } = upgradedBridge();
      bridge.outbox.push('waiting');
      expect(bridge.outbox.queued).toBeGreaterThan(0);
      events.onPong();
      expect(reports).toEqual([{ type: 'socket.pong', quiet: false }]);
    });
  });

  describe('#hibernate', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    it('says it hibernates from hibernate() until wake()', () => {
      const { bridge } = upgradedBridge();
      expect(bridge.hibernated).toBe(false);
      bridge.hibernate();
      expect(bridge.hibernated).toBe(true);
      bridge.wake();
      expect(bridge.hibernated).toBe(false);
    });

    // The sleep clock wakes a sleeper at its due time or up to SLEEP_RESOLUTION ms later, never earlier.
    it('pings a whole heartbeatInterval after hibernating, and a pong puts the next ping a whole interval later', () => {
      const { bridge, ws, events, reports } = upgradedBridge();
      bridge.hibernate();
      jest.advanceTimersByTime(HEARTBEAT - 1);
      expect(ws.ping).not.toHaveBeenCalled();
      jest.advanceTimersByTime(1 + SLEEP_RESOLUTION);
      expect(ws.ping).toHaveBeenCalledTimes(1);
      events.onPong();
      jest.advanceTimersByTime(HEARTBEAT - 1);
      expect(ws.ping).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(1 + SLEEP_RESOLUTION);
      expect(ws.ping).toHaveBeenCalledTimes(2);
      // A pong while hibernating wakes no one: the bridge keeps the heartbeat itself.
      expect(reports).toEqual([]);
    });

    it('opens hibernating when made asleep: upgrades at once, reports nothing on open, pings a whole heartbeatInterval after the upgrade, reports the first message', () => {
      const { bridge, ws, events, reports } = upgradedBridge(true);
      expect(ws.bridge).toBe(bridge);
      expect(bridge.hibernated).toBe(true);
      jest.advanceTimersByTime(HEARTBEAT - 1);
      expect(ws.ping).not.toHaveBeenCalled();
      jest.advanceTimersByTime(1 + SLEEP_RESOLUTION);
      expect(ws.ping).toHaveBeenCalledTimes(1);
      events.onPong();
      expect(reports).toEqual([]);
      events.onMessage(Buffer.from('hi'), false);
      expect(reports).toEqual([{ type: 'socket.data' }]);
    });

    it('reports socket.unresponsive when a ping goes unanswered for pongTimeout', () => {
      const { bridge, ws, reports } = upgradedBridge();
      bridge.hibernate();
      jest.advanceTimersByTime(HEARTBEAT + SLEEP_RESOLUTION);
      expect(ws.ping).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(PONG_TIMEOUT - SLEEP_RESOLUTION - 1);
      expect(reports).toEqual([]);
      jest.advanceTimersByTime(1 + 2 * SLEEP_RESOLUTION);
      expect(reports).toEqual([{ type: 'socket.unresponsive' }]);
    });

    it('reports socket.unresponsive at the next beat, without a ping, once the socket is no longer open', () => {
      const { bridge, ws, reports } = upgradedBridge();
      bridge.hibernate();
      ws.readyState = WebSocket.CLOSING;
      jest.advanceTimersByTime(HEARTBEAT + SLEEP_RESOLUTION);
      expect(ws.ping).not.toHaveBeenCalled();
      expect(reports).toEqual([{ type: 'socket.unresponsive' }]);
    });

    it('stops its heartbeat on wake(), and a pong is then reported again', () => {
      const { bridge, ws, events, reports } = upgradedBridge();
      bridge.hibernate();
      jest.advanceTimersByTime(HEARTBEAT + SLEEP_RESOLUTION);
      expect(ws.ping).toHaveBeenCalledTimes(1);
      bridge.wake();
      jest.advanceTimersByTime(10 * HEARTBEAT);
      expect(ws.ping).toHaveBeenCalledTimes(1);
      expect(reports).toEqual([]);
      events.onPong();
      expect(reports).toEqual([{ type: 'socket.pong', quiet: true }]);
    });

    it('stops its heartbeat on dispose()', () => {
      const { bridge, ws, reports } = upgradedBridge();
      bridge.hibernate();
      bridge.dispose();
      jest.advanceTimersByTime(10 * HEARTBEAT);
      expect(ws.ping).not.toHaveBeenCalled();
      expect(reports).toEqual([]);
    });

    it('keeps the topics its protocol joined, and hands them to the protocol wired after waking', () => {
      const { bridge, broker } = upgradedBridge();
      wired(bridge).send({ type: 'join', topic: 'room' });
      expect(broker.subscribers('room')).toBe(1);
      bridge.hibernate();
      expect(broker.subscribers('room')).toBe(1);
      broker.publish({ topic: 'room', frame: 'while asleep', from: 'other' });
      expect(bridge.outbox.stats.enqueued).toBe(1);
      bridge.wake();
      const resumed = wired(bridge);
      expect(broker.subscribers('room')).toBe(1);
      // The resumed protocol holds the kept subscription: joining again adds none, leaving leaves it.
      resumed.send({ type: 'join', topic: 'room' });
      expect(broker.subscribers('room')).toBe(1);
      resumed.send({ type: 'leave', topic: 'room' });
      expect(broker.subscribers('room')).toBe(0);
    });

    it('leaves the kept topics when disposed of while hibernating', () => {
      const { bridge, broker } = upgradedBridge();
      const protocol = wired(bridge);
      protocol.send({ type: 'join', topic: 'a' });
      protocol.send({ type: 'join', topic: 'b' });
      bridge.hibernate();
      bridge.dispose();
      expect([broker.subscribers('a'), broker.subscribers('b')]).toEqual([0, 0]);
    });

    it('no longer hears its old protocol once hibernated', () => {
      const { bridge, broker } = upgradedBridge();
      const protocol = wired(bridge);
      bridge.hibernate();
      protocol.send({ type: 'join', topic: 'room' });
      expect(broker.subscribers('room')).toBe(0);
    });
  });
});
