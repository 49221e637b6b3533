/**
 * The vocabulary machines and actors share: event and record shapes, and the
 * few pure functions that build them. Events are dotted lowercase
 * `source.verb`.
 */
import { CloseCode } from './close-codes';

/** What happens to an outbound message that would take an outbox past its limit. */
export type OverflowPolicy = 'close' | 'drop-newest' | 'drop-oldest';

/** Why a message accepted by the server was not delivered. */
export interface Undelivered {
  /** Inbound messages read after the connection decided to close; the protocol never saw them. */
  readAfterClose: number;
  /** Outbound messages still queued when the socket closed (terminated, or dropped by the peer). */
  socketClosed: number;
}

/** Counters a connection's socket bridge keeps on the hot path and reports when the socket closes. */
export interface ConnectionCounters {
  /** Data messages and bytes read from the client. */
  messagesIn: number;
  bytesIn: number;
  /** Outbound messages accepted into the outbox. */
  enqueued: number;
  /** Data messages and bytes written to the socket. */
  messagesOut: number;
  bytesOut: number;
  /** Outbound messages dropped by the outbox's overflow policy, by policy. */
  dropped: Record<OverflowPolicy, number>;
  undelivered: Undelivered;
}

/** What a connection actor outputs when it reaches `closed`. */
export interface CloseRecord extends ConnectionCounters {
  id: string;
  /** The close code of the connection: the one statewire sent, or the peer's if the peer closed first. */
  code: number;
  reason: string;
  /** True when the close handshake completed; false when the socket was terminated or dropped. */
  clean: boolean;
}

/** Codes of connections statewire terminated: their close handshake did not complete. */
const TERMINATED = new Set<number>([CloseCode.HeartbeatTimeout, CloseCode.CloseTimeout, CloseCode.DrainTimeout]);

/** A close statewire decided (`code` null while it has decided none). */
export interface DecidedClose {
  code: number | null;
  reason: string;
}

/** Nothing decided: a connection the peer closed, or that closed while hibernating. */
export const UNDECIDED: Readonly<DecidedClose> = Object.freeze({ code: null, reason: '' });

/**
 * A connection's close record as its socket closes: the close statewire
 * decided wins over what the peer echoed; otherwise the peer's code and
 * reason. The connection machine records it on `socket.closed`, and the pool
 * for a connection that closes while hibernating (no actor to wake for it).
 */
export function closeRecord(id: string, decided: DecidedClose, closed: { code: number; reason: string; counters: ConnectionCounters }): CloseRecord {
  const code = decided.code ?? closed.code;
  return {
    id,
    code,
    reason: decided.code === null ? closed.reason : decided.reason,
    clean: !TERMINATED.has(code) && closed.code !== CloseCode.Abnormal,
    ...closed.counters,
  };
}

/**
 * What a connection actor outputs when it hibernates instead of closing: it
 * has been quiet for a whole heartbeat period, so the actor ends and its
 * socket bridge keeps the socket. The next event for the connection starts a
 * fresh actor with this as `input.resume`.
 */
export interface Hibernation {
  id: string;
  hibernated: true;
  /** The protocol's persisted snapshot (`getPersistedSnapshot()`), or null if it had not started. */
  protocol: unknown;
  /** What `authenticate` returned, handed to the protocol again when the connection wakes. */
  identity: unknown;
}

/** What a connection actor outputs: its close record, or its hibernation. */
export type ConnectionOutput = CloseRecord | Hibernation;

/** Whether a connection actor's output is a hibernation rather than a close record. */
export function isHibernation(output: unknown): output is Hibernation {
  return (output as Hibernation | undefined)?.hibernated === true;
}

/** A failure reported by the socket bridge: ws's own receiver errors and codec rejections. */
export interface SocketFailure {
  code: string;
  closeCode: number;
  message: string;
}

/** Events the socket bridge sends to its connection actor. */
export type SocketEvent =
  | { type: 'socket.open' }
  /** The client answered a ping. `quiet`: nothing came in or went out since the pong before (a whole heartbeat period). */
  | { type: 'socket.pong'; quiet?: boolean }
  /** A hibernated connection's client did not answer its bridge's ping within the pong timeout. */
  | { type: 'socket.unresponsive' }
  /** The first inbound message arrived: a lazy protocol starts now. Sent once, before the message is delivered. */
  | { type: 'socket.data' }
  | { type: 'socket.failed'; failure: SocketFailure }
  | { type: 'socket.closed'; code: number; reason: string; counters: ConnectionCounters }
  | { type: 'outbox.congested' }
  | { type: 'outbox.flowing' }
  | { type: 'outbox.overflow' };

/** Commands the connection actor sends to its socket bridge. */
export type SocketCommand =
  | { type: 'socket.ping' }
  /** Wire this protocol actor (and, when it replaces one that crashed, tell the client). */
  | { type: 'socket.protocol'; protocol: unknown; restarted: boolean }
  /** Complete the WebSocket upgrade. */
  | { type: 'socket.upgrade' }
  /** Refuse the upgrade with an HTTP status, before any WebSocket exists. */
  | { type: 'socket.refuse'; status: number; message: string }
  | { type: 'socket.close'; code: number; reason: string }
  | { type: 'socket.terminate' };

/** The socket bridge as the connection machine sees it: it takes commands; it reports back with events sent to the connection. */
export interface SocketPort {
  send(command: SocketCommand): void;
}

/** Events a `text` protocol receives. Inbound messages arrive batched: everything one socket read brought. */
export type ProtocolInput = { type: 'socket.messages'; messages: readonly string[] };

/** A decoded `json` message: an object with a string `type`. */
export interface JsonMessage {
  type: string;
  [field: string]: unknown;
}

/** The event a `json` protocol receives for each decoded message `{"type":"x",...}`: `{ type: 'client.x', message }`. */
export type ClientEvent<M extends JsonMessage = JsonMessage> = M extends JsonMessage ? { type: `client.${M['type']}`; message: M } : never;

/** What the protocol gets as its actor input. */
export interface ProtocolActorInput {
  /** The connection's id, e.g. `conn-1`. */
  connectionId: string;
  /** What `authenticate(request)` returned for this connection (`null` without an authenticate hook). */
  identity: unknown;
  /** Topics the connection may hold (the topics protocol enforces it). */
  maxTopics: number;
  /** A persisted snapshot to resume from: the protocol of a connection waking from hibernation. */
  restore?: unknown;
}

/** Events a protocol actor emits; the runtime wires them to the outbox, the broker and the connection. */
export type ProtocolEmitted =
  /**
   * Messages to the client: strings as they are; objects (json protocols) serialised once.
   * Volatile messages may be dropped when the client reads too slowly; reliable ones (the default) follow the server's policy.
   */
  | { type: 'send'; messages: readonly (string | object)[]; volatile?: boolean }
  /** A reply correlated by `ref`: `{"type":"reply","ref","status",...}`. */
  | { type: 'reply'; ref: string; status: 'ok' | 'error'; payload?: unknown; code?: string; message?: string }
  | { type: 'close'; code: number; reason: string }
  /** Topic messages published on the broker reach this connection as `{"type":"message","topic","payload"}`. */
  | { type: 'subscribe'; topic: string }
  | { type: 'unsubscribe'; topic: string }
  /** Publishes to every subscriber of the topic; the publishing connection too only with `echo`. */
  | { type: 'publish'; topic: string; payload: unknown; echo?: boolean };

/** Events the supervisor sends to a connection actor. */
export type ServerCommand = { type: 'server.shutdown' } | { type: 'server.terminate' };

/** Events a protocol's close request raises on its connection. */
export type ProtocolCloseEvent = { type: 'protocol.close'; code: number; reason: string };

export type ConnectionEvent = SocketEvent | ServerCommand | ProtocolCloseEvent;

/** The address a listener is bound to. */
export interface ListenAddress {
  host: string;
  port: number;
  path: string;
  /** e.g. `ws://127.0.0.1:3030/ws` */
  url: string;
}

/** Events the listener sends to the supervisor. (Admitted upgrades go to the connection pool, not through the supervisor.) */
export type ListenerEvent = { type: 'listener.ready'; address: ListenAddress } | { type: 'listener.failed'; message: string };

/** Commands the supervisor sends to its connection pool. */
export type ConnectionsCommand = { type: 'connections.shutdown' } | { type: 'connections.terminate' };

/** Commands the supervisor sends to its listener. */
export type ListenerCommand = { type: 'listener.drain' };

export type SupervisorEvent =
  | ListenerEvent
  /** The connection pool's answer to `connections.shutdown`: how many connections the drain waits for. */
  | { type: 'connections.draining'; open: number }
  /** The connection pool, once draining: a connection has ended (closed, or its actor failed: code 1011), with its record. */
  | { type: 'connection.ended'; record: CloseRecord }
  | { type: 'signal'; signal: string }
  | { type: 'server.close' };

/** The supervisor's output: what shutdown did. */
export interface ShutdownSummary {
  /** True when a second signal cut the drain short; the connections then open were terminated unrecorded. */
  forced: boolean;
  /** Set when the listener could not start. */
  error?: string;
  /** Every connection that closed during the drain, each with its record (those terminated at the deadline too). */
  drained: CloseRecord[];
  /** Connections still open at the drain deadline (or at a forced stop); they were terminated. */
  terminated: number;
}

/** A count per overflow policy, all zero. */
export function noDrops(): Record<OverflowPolicy, number> {
  return { close: 0, 'drop-newest': 0, 'drop-oldest': 0 };
}

/** Counters of a connection that never got to count anything (e.g. one that failed before its socket closed). */
export function emptyCounters(): ConnectionCounters {
  return {
    messagesIn: 0,
    bytesIn: 0,
    enqueued: 0,
    messagesOut: 0,
    bytesOut: 0,
    dropped: noDrops(),
    undelivered: { readAfterClose: 0, socketClosed: 0 },
  };
}
