import type { Duplex } from 'node:stream';
import type { AnyActorRef, EventObject } from 'xstate';
import { WebSocket, type WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker';
import { CloseCode } from '../protocol/close-codes';
import type { ErrorCode } from '../protocol/errors';
import {
  emptyCounters,
  type ConnectionCounters,
  type ConnectionEvent,
  type SocketCommand,
  type SocketFailure,
  type SocketPort,
} from '../protocol/events';
import { createJsonInbound, errorFrame, type Codec, type JsonDelivery } from './codec';
import { encodeTextFrames, FrameWalker, simpleTextFrameEnd, unmaskText } from './frames';
import { ignoreError, refuseUpgrade, type UpgradeTransport } from './listener.actor';
import { connectionCounters, Outbox, type OutboxOptions, type OutboxPolicy, type OutboxSink } from './outbox';
import { leaveTopics, wireProtocol, type Topics, type Unwire } from './protocol-wiring';
import { SleepClock, type Sleeper } from './sleep-clock';
import { deliverDirect, type Inspection } from './stationary';

export type { Codec };

export interface SocketBridgeOptions {
  /** The protocol's name, used in close reasons. */
  protocolName: string;
  codec: Codec;
  logger: Logger;
  /** Completes upgrades (maxPayload, subprotocol negotiation). */
  wss: WebSocketServer;
  /** Outbox limit in bytes (queued plus the socket's unsent bytes). */
  outboxLimit: number;
  /** Overflow policy per message class. */
  outboxPolicy: OutboxPolicy;
  /** Live connections by id, for broadcasts, metrics and inspection; each is removed when its socket closes. */
  registry?: Map<string, LiveConnection>;
  /** Where the protocol's topics live. */
  broker: Broker;
  /** json: bad frames tolerated in a row before closing with 1008. */
  badFrameTolerance: number;
  /** json: the `client.<type>` events the protocol names (`clientEventTypes`); other types arrive as `client.*`. Default: every type as it is. */
  clientTypes?: ReadonlySet<string> | null;
  /** A hibernated connection's heartbeat, kept by its bridge: ping every `heartbeatInterval`, wake it unresponsive after `pongTimeout`. */
  heartbeatInterval?: number;
  pongTimeout?: number;
  /** Inspection observers on the actor system (`watchInspection`): while there is one, every event goes through the interpreter. Default none. */
  inspection?: Inspection;
}

/** A connection's live counters, readable while it is open (metrics, inspection). */
export interface LiveConnection {
  id: string;
  /** Data messages and bytes read from the client. */
  messagesIn: number;
  bytesIn: number;
  /** Inbound messages read after the connection decided to close. */
  readAfterClose: number;
  /** Its outbox: `outbox.stats` counts what was enqueued, written and dropped; `outbox.queued` is its backlog in bytes. */
  outbox: Outbox;
  /** True while the connection hibernates: no actor, the bridge keeps the socket and its heartbeat. */
  readonly hibernated: boolean;
}

/** ws's receiver errors (lib/receiver.js), by their `code`, mapped to statewire's. */
const WS_ERRORS: Record<string, { code: ErrorCode; closeCode: number }> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: { code: 'message_too_big', closeCode: CloseCode.MessageTooBig },
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: { code: 'message_too_big', closeCode: CloseCode.MessageTooBig },
  WS_ERR_INVALID_UTF8: { code: 'invalid_utf8', closeCode: CloseCode.InvalidPayload },
};

function toFailure(error: Error & { code?: string }): SocketFailure {
  const known = error.code === undefined ? undefined : WS_ERRORS[error.code];
  return {
    code: known?.code ?? 'protocol_error',
    closeCode: known?.closeCode ?? CloseCode.ProtocolError,
    message: error.message,
  };
}

/** What a bridged socket hands its events to. */
interface SocketEvents {
  onMessage(data: Buffer, isBinary: boolean): void;
  /** ws is about to send its close frame (the peer's close frame arrived, a frame failed, or statewire closes). */
  beforeClose(): void;
  onPong(): void;
  onError(error: Error): void;
  onClose(code: number, reason: Buffer): void;
}

/**
 * ws's WebSocket, handing its events straight to the connection's bridge
 * instead of through listeners: an open connection holds no listener
 * closures and no listener table (given to ws as its `WebSocket` class).
 * Other events go to listeners as usual; an `error` after the bridge has let
 * go is dropped rather than thrown.
 */
export class BridgedWebSocket extends WebSocket {
  bridge: SocketEvents | null = null;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const { bridge } = this;
    switch (event) {
      case 'message':
        if (bridge === null) break;
        bridge.onMessage(args[0] as Buffer, args[1] as boolean);
        return true;
      case 'pong':
        if (bridge === null) break;
        bridge.onPong();
        return true;
      case 'close':
        if (bridge === null) break;
        bridge.onClose(args[0] as number, args[1] as Buffer);
        return true;
      case 'error':
        bridge?.onError(args[0] as Error);
        return true;
    }
    return super.emit(event, ...args);
  }

  /**
   * ws answers a close frame at once, in the read that brings it: the
   * messages read before it are delivered first, so that their replies go out
   * before the close frame, as they do from a plain ws server.
   */
  override close(code?: number, data?: string | Buffer): void {
    this.bridge?.beforeClose();
    super.close(code, data);
  }
}

/** A connection's socket bridge, as the connection pool holds it: the connection's `SocketPort`, and its teardown. */
export interface ConnectionSocket extends SocketPort {
  /** The connection actor has ended: let go of the protocol and the socket (terminated if still open). */
  dispose(): void;
  /**
   * The connection actor has hibernated: the bridge lets go of the protocol
   * actor (keeping its topic subscriptions) and keeps the heartbeat itself
   * until the connection wakes. Whatever it reports meanwhile wakes it.
   */
  hibernate(): void;
  /** A fresh connection actor takes over the socket: the bridge's own heartbeat stops. */
  wake(): void;
}

/**
 * Makes the bridge of one connection; `report` sends an event to the
 * connection actor. With `asleep` the bridge completes the upgrade at once,
 * with no connection actor: the connection opens hibernating (the bridge
 * keeps its heartbeat from the start) and reports nothing on open; whatever
 * it reports next wakes it.
 */
export type SocketBridgeFactory = (id: string, transport: unknown, report: (event: ConnectionEvent) => void, asleep?: boolean) => ConnectionSocket;

/** What every bridge of one protocol shares. */
interface Shared extends SocketBridgeOptions {
  debug: boolean;
  outbox: OutboxOptions;
  heartbeatInterval: number;
  pongTimeout: number;
  /** The heartbeats of the protocol's hibernated connections. */
  sleep: SleepClock;
  inspection: Inspection;
  /** Reads simple text frames without ws (see `SocketBridge.read`); false where ws might hold data back between reads. */
  fastReads: boolean;
  /** ws's limit on a message's bytes (0: none). */
  maxPayload: number;
}

/** The bridge reading a socket, on the socket (as ws keeps its WebSocket there), so that one listener serves every socket. */
const READER = Symbol('statewire.reader');

type ReadSocket = Duplex & { [READER]?: SocketBridge };

function onSocketData(this: ReadSocket, chunk: Buffer): void {
  this[READER]!.read(chunk);
}

/** Hands an event to the protocol: a stationary transition directly, unless inspection watches; else the interpreter. */
function toProtocol<E extends EventObject>(shared: Shared, protocol: AnyActorRef, event: E): void {
  if (shared.inspection.observers === 0 && deliverDirect(protocol, event)) return;
  protocol.send(event);
}

/** Hands a socket read's batch to the protocol, after the read (`process.nextTick`, with no closure per connection). */
function deliverBatch(bridge: SocketBridge): void {
  bridge.deliver();
}

/**
 * The socket bridge: the only code that touches a connection's socket. It
 * holds the upgrade request until the connection machine says to complete
 * (`socket.upgrade`) or refuse it (`socket.refuse`). Then inbound data
 * messages go straight to the protocol actor, batched per socket read, and
 * what the protocol emits goes straight into the outbox or the broker. The
 * connection actor hears only lifecycle and control events.
 *
 * A plain object, not an actor: the connection machine's socket commands are
 * calls on it, and it reports with `report`. One per connection, so its
 * state lives in fields and its behaviour in shared methods rather than in
 * per-connection closures. It is also the outbox's sink, and what the
 * registry of live connections holds.
 */
class SocketBridge implements ConnectionSocket, OutboxSink, SocketEvents, LiveConnection, Sleeper {
  private ws: BridgedWebSocket | null = null;
  private protocol: AnyActorRef | null = null;
  // LiveConnection: what the registry shows of it while it is open.
  readonly outbox: Outbox;
  messagesIn = 0;
  bytesIn = 0;
  readAfterClose = 0;
  /** Inbound messages are taken until statewire decides to close; later ones are counted undelivered. */
  private accepting = true;
  private batch: string[] | null = null;
  private closedSent = false;
  private unwire: Unwire | null = null;
  /** Anything read or written since the last pong: a connection quiet for a whole heartbeat period may hibernate. */
  private active = false;
  /** While hibernating: the topics the protocol had joined, and whether a ping is unanswered; `sleepDue` and `sleepIndex` are the sleep clock's. */
  private asleep = false;
  private topics: Topics | null = null;
  private awaitingPong = false;
  sleepDue = 0;
  sleepIndex = 0;
  /** json: decodes a batch and hands the protocol one event per message; null for text. */
  private readonly deliverJson: ((messages: readonly string[]) => void) | null;
  /** ws's own reader of the socket, which `read` hands what it does not decode itself; null where ws reads the socket as usual. */
  private wsRead: ((chunk: Buffer) => void) | null = null;
  /** While ws reads: follows its frames, to tell when it has nothing pending and `read` may decode again. */
  private walker: FrameWalker | null = null;
  /** ws takes nothing more from the socket (a close frame has passed, or its reader failed): neither does `read`. */
  private readEnded = false;
  /** Until the upgrade completes, the raw socket's end is the connection's end (watched only while it waits, with its errors). */
  private onRawClose: (() => void) | null = null;

  constructor(
    private readonly shared: Shared,
    readonly id: string,
    private readonly transport: UpgradeTransport,
    readonly report: (event: ConnectionEvent) => void,
  ) {
    this.outbox = new Outbox(this, shared.outbox);
    this.deliverJson = shared.codec === 'json' ? this.jsonInbound() : null;
  }

  /**
   * Watches the raw socket until the upgrade completes: its end before then
   * is the connection's end (1006), and its errors are ignored (unheard, one
   * would crash the process; its close follows). Once upgraded, ws handles them.
   */
  watchRawSocket(): void {
    this.onRawClose = (): void => this.closed(CloseCode.Abnormal, '', emptyCounters());
    this.transport.socket.on('close', this.onRawClose).on('error', ignoreError);
  }

  /** Stops watching the raw socket (upgraded, or let go of). */
  private unwatchRawSocket(): void {
    if (this.onRawClose === null) return;
    this.transport.socket.off('close', this.onRawClose).off('error', ignoreError);
    this.onRawClose = null;
  }

  // ---- the connection's commands

  send(command: SocketCommand): void {
    switch (command.type) {
      case 'socket.protocol':
        this.wire(command.protocol as AnyActorRef, command.restarted);
        break;
      case 'socket.upgrade':
        this.upgrade();
        break;
      case 'socket.refuse':
        refuseUpgrade(this.transport.socket, command.status, command.message);
        break;
      case 'socket.ping':
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.ping();
        break;
      case 'socket.close':
        // Everything read before the decision is answered before the close frame.
        this.stopAccepting();
        this.outbox.flush({ force: true });
        if (this.ws === null) this.transport.socket.destroy();
        else this.ws.close(command.code, command.reason);
        break;
      case 'socket.terminate':
        this.stopAccepting();
        this.terminate();
        break;
    }
  }

  /** In a connection's snapshot (inspectors, persistence) the bridge is left out: it is the socket, not state. */
  toJSON(): undefined {
    return undefined;
  }

  get hibernated(): boolean {
    return this.asleep;
  }

  hibernate(): void {
    this.topics = this.unwire?.(true) ?? null;
    this.unwire = null;
    this.protocol = null;
    this.awaitingPong = false;
    this.asleep = true;
    // It hibernates as a pong arrives: the next ping is due a whole interval later, as it would have been.
    this.shared.sleep.schedule(this, this.shared.heartbeatInterval);
  }

  wake(): void {
    this.asleep = false;
    this.shared.sleep.cancel(this);
  }

  /** The hibernated connection's heartbeat: ping, or, if the last ping went unanswered, wake it unresponsive. */
  onDue(): void {
    if (this.awaitingPong || this.ws?.readyState !== WebSocket.OPEN) {
      this.report({ type: 'socket.unresponsive' });
      return;
    }
    this.ws.ping();
    this.awaitingPong = true;
    this.shared.sleep.schedule(this, this.shared.pongTimeout);
  }

  dispose(): void {
    this.wake();
    this.unwire?.();
    // The subscriptions kept while hibernating, if the connection ends asleep.
    this.topics = leaveTopics(this.topics);
    this.unwatchRawSocket();
    // Its socket's later events go nowhere (an error included: unheard, it would crash the process).
    if (this.ws !== null) this.ws.bridge = null;
    if (!this.closedSent) {
      this.outbox.close();
      this.shared.registry?.delete(this.id);
      this.terminate();
    }
  }

  private terminate(): void {
    if (this.ws === null) this.transport.socket.destroy();
    else this.ws.terminate();
  }

  /** Completes the upgrade; `asleep`: with no connection actor (see `SocketBridgeFactory`). */
  upgrade(asleep = false): void {
    const { transport } = this;
    const { request, head } = transport;
    transport.request = null;
    transport.head = null;
    if (request === null || head === null) return;
    this.shared.wss.handleUpgrade(request, transport.socket, head, (upgraded) => {
      this.unwatchRawSocket();
      const ws = upgraded as BridgedWebSocket;
      ws.bridge = this;
      this.ws = ws;
      this.takeReads();
      this.shared.registry?.set(this.id, this);
      if (asleep) this.hibernate();
      else this.report({ type: 'socket.open' });
    });
    // ws completes a valid upgrade at once; one it refused (400) ends with the raw socket.
    if (this.ws === null && this.onRawClose === null) this.watchRawSocket();
  }

  /**
   * Takes the socket's reads from ws (which has just added its one `data`
   * listener): `read` decodes what it can and hands ws the rest.
   */
  private takeReads(): void {
    if (!this.shared.fastReads) return;
    const socket = this.transport.socket as ReadSocket;
    const listeners = socket.listeners('data');
    if (listeners.length !== 1) return;
    this.wsRead = listeners[0] as (chunk: Buffer) => void;
    socket.removeListener('data', this.wsRead);
    socket[READER] = this;
    socket.on('data', onSocketData);
  }

  private wire(protocol: AnyActorRef, restarted: boolean): void {
    this.unwire?.();
    this.protocol = protocol;
    // A protocol resumed after hibernation takes over the topics its earlier self joined.
    const joined = this.topics;
    this.topics = null;
    this.unwire = wireProtocol(
      protocol,
      {
        connectionId: this.id,
        outbox: this.outbox,
        broker: this.shared.broker,
        requestClose: (code, reason) => this.report({ type: 'protocol.close', code, reason }),
      },
      joined,
    );
    if (restarted) this.outbox.push(errorFrame('protocol_crash', `the ${this.shared.protocolName} protocol failed and was restarted`));
    else if (this.batch !== null) process.nextTick(deliverBatch, this);
  }

  // ---- inbound

  deliver(): void {
    // A lazy protocol not started yet: the batch waits for it (`socket.protocol` delivers it).
    const { batch, protocol } = this;
    if (batch === null || protocol === null) return;
    this.batch = null;
    // The replies of a read are written as its delivery ends, with no flush of their own scheduled.
    this.outbox.hold();
    try {
      if (this.deliverJson === null) toProtocol(this.shared, protocol, { type: 'socket.messages', messages: batch });
      else this.deliverJson(batch);
    } finally {
      this.outbox.release();
    }
  }

  private stopAccepting(): void {
    this.deliver();
    this.accepting = false;
  }

  /**
   * One socket read. A run of whole, unfragmented, masked text frames within
   * the message size limit (most reads: one message, or a client's batch) is
   * decoded here, exactly as ws would (unmasked in place, UTF-8 checked), and
   * delivered at once, at the end of the read: no stream write, no `nextTick`.
   * From the first other frame on (control, binary, fragmented, split across
   * reads, invalid), ws reads, as it would have, and keeps reading whole reads
   * until its frames end with nothing pending. ws emits every event of a read
   * synchronously (`allowSynchronousEvents`, no compression), and an error only
   * after the read, before the next one: so ws never holds data back when
   * `read` decodes again, and never sees a read after its reader failed.
   */
  read(chunk: Buffer): void {
    if (this.readEnded) return;
    let at = 0;
    if (this.walker === null) {
      const { maxPayload } = this.shared;
      while (at < chunk.length) {
        const end = simpleTextFrameEnd(chunk, at, maxPayload);
        // Invalid UTF-8 is left to ws as sent: it fails the connection with 1007.
        const data = end < 0 ? null : unmaskText(chunk, at, end);
        if (data === null) break;
        this.take(data);
        at = end;
      }
    }
    if (at < chunk.length) {
      const walker = (this.walker ??= new FrameWalker());
      const idle = walker.follow(chunk, at);
      this.wsRead!.call(this.transport.socket, at === 0 ? chunk : chunk.subarray(at));
      if (walker.closed) this.readEnded = true;
      else if (idle) this.walker = null;
    }
    this.deliver();
  }

  /** A text message read: into the batch, unless statewire has decided to close. True when it starts a batch. */
  private take(data: Buffer): boolean {
    this.active = true;
    if (!this.accepting) {
      this.readAfterClose++;
      return false;
    }
    this.messagesIn++;
    this.bytesIn += data.length;
    const text = data.toString();
    if (this.shared.debug) this.shared.logger.debug({ connection: this.id, text }, 'message received');
    if (this.batch !== null) {
      this.batch.push(text);
      return false;
    }
    this.batch = [text];
    // The first message starts a lazy protocol (the connection answers with `socket.protocol` at once).
    if (this.protocol === null) this.report({ type: 'socket.data' });
    return true;
  }

  beforeClose(): void {
    this.deliver();
  }

  /** A message ws read. */
  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary && this.accepting) {
      // RFC 6455 7.4.1: 1003 for a data type the endpoint cannot accept.
      this.active = true;
      this.stopAccepting();
      this.report({
        type: 'socket.failed',
        failure: { code: 'unsupported_data', closeCode: CloseCode.UnsupportedData, message: `${this.shared.protocolName} accepts text frames only` },
      });
      return;
    }
    // Delivered after the read (`read` delivers at its end where it reads the socket; this covers every other case).
    if (this.take(data)) process.nextTick(deliverBatch, this);
  }

  onPong(): void {
    if (this.asleep) {
      // Hibernating: the bridge keeps the heartbeat, and a pong is no reason to wake.
      this.awaitingPong = false;
      this.shared.sleep.schedule(this, this.shared.heartbeatInterval);
      return;
    }
    const quiet = !this.active && this.outbox.queued === 0;
    this.active = false;
    this.report({ type: 'socket.pong', quiet });
  }

  onError(error: Error): void {
    this.readEnded = true;
    this.stopAccepting();
    this.report({ type: 'socket.failed', failure: toFailure(error) });
  }

  onClose(code: number, reason: Buffer): void {
    this.stopAccepting();
    this.outbox.close();
    this.shared.registry?.delete(this.id);
    this.closed(code, reason.toString(), connectionCounters(this, this.outbox.stats));
  }

  private closed(code: number, reason: string, counters: ConnectionCounters): void {
    if (this.closedSent) return;
    this.closedSent = true;
    this.report({ type: 'socket.closed', code, reason, counters });
  }

  /** json decoding, with where decoded messages go. */
  private jsonInbound(): (messages: readonly string[]) => void {
    const inbound = createJsonInbound(this.shared.badFrameTolerance, this.shared.clientTypes ?? null);
    const to: JsonDelivery = {
      accepting: () => this.accepting,
      // `protocol` is read each time: a crash restarts it mid-batch.
      event: (event) => toProtocol(this.shared, this.protocol!, event),
      error: (frame) => this.outbox.push(frame),
      violation: (failure, remaining) => {
        this.accepting = false;
        this.readAfterClose += remaining;
        this.report({ type: 'socket.failed', failure });
      },
    };
    return (messages) => inbound(messages, to);
  }

  // ---- OutboxSink: text frames batched into one buffer and one socket write

  isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  write(messages: readonly string[]): void {
    this.active = true;
    (this.transport.socket as unknown as RawSocket).write(encodeTextFrames(messages));
  }

  onDrain(listener: () => void): void {
    (this.transport.socket as unknown as RawSocket).on('drain', listener);
  }
}

interface RawSocket {
  write(data: Buffer): boolean;
  on(event: 'drain', listener: () => void): void;
}

/**
 * The bridge factory of one protocol. Text frames are written as one buffer in
 * one socket write, bypassing ws's Sender, which is safe because ws only queues
 * frames itself while compressing or reading a Blob, and statewire negotiates
 * no compression and sends strings only; control frames (ping, pong, close)
 * still go through ws, in order on the same socket.
 */
export function createSocketBridge(options: SocketBridgeOptions): SocketBridgeFactory {
  const shared: Shared = {
    ...options,
    heartbeatInterval: options.heartbeatInterval ?? 25_000,
    pongTimeout: options.pongTimeout ?? 10_000,
    sleep: new SleepClock(),
    inspection: options.inspection ?? { observers: 0 },
    debug: options.logger.isLevelEnabled('debug'),
    // ws must read every frame in the read that brings it, emitting as it goes: no compression, synchronous events.
    fastReads: options.wss.options.allowSynchronousEvents === true && options.wss.options.perMessageDeflate === false,
    maxPayload: options.wss.options.maxPayload ?? 0,
    // One options object for every outbox of the protocol; the callbacks find the connection through the sink.
    outbox: {
      limit: options.outboxLimit,
      policy: options.outboxPolicy,
      onCongestion: (congested, sink) => (sink as SocketBridge).report({ type: congested ? 'outbox.congested' : 'outbox.flowing' }),
      onOverflow: (sink) => (sink as SocketBridge).report({ type: 'outbox.overflow' }),
    },
  };
  return (id, transport, report, asleep = false) => {
    const bridge = new SocketBridge(shared, id, transport as UpgradeTransport, report);
    // A connection that opens asleep upgrades at once; one that waits for its actor (authenticate) watches its socket.
    if (asleep) bridge.upgrade(true);
    else bridge.watchRawSocket();
    return bridge;
  };
}
