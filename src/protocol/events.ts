/**
 * The vocabulary machines and actors share: event and record shapes only.
 * Events are dotted lowercase `source.verb`.
 */

/** Counters a connection's socket bridge keeps on the hot path and reports when the socket closes. */
export interface ConnectionCounters {
  /** Data messages read from the client. */
  messagesIn: number;
  /** Data messages written to the socket. */
  messagesOut: number;
  /** Messages accepted (inbound read or outbound queued) that were never written, e.g. read after the close frame went out. */
  undelivered: number;
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

/** A failure reported by the socket bridge: ws's own receiver errors and codec rejections. */
export interface SocketFailure {
  code: string;
  closeCode: number;
  message: string;
}

/** Events the socket bridge sends to its connection actor. */
export type SocketEvent =
  | { type: 'socket.open' }
  | { type: 'socket.pong' }
  | { type: 'socket.failed'; failure: SocketFailure }
  | { type: 'socket.closed'; code: number; reason: string; counters: ConnectionCounters };

/** Commands the connection actor sends to its socket bridge. */
export type SocketCommand =
  | { type: 'socket.ping' }
  | { type: 'socket.close'; code: number; reason: string }
  | { type: 'socket.terminate' };

/** Events a protocol actor receives. Inbound messages arrive batched: everything one socket read brought. */
export type ProtocolInput = { type: 'socket.messages'; messages: readonly string[] };

/** Events a protocol actor emits; the runtime wires them to the outbox and the connection. */
export type ProtocolEmitted =
  | { type: 'send'; messages: readonly string[] }
  | { type: 'close'; code: number; reason: string };

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

/** Events the listener sends to the supervisor. `transport` is opaque to machines. */
export type ListenerEvent =
  | { type: 'listener.ready'; address: ListenAddress }
  | { type: 'listener.failed'; message: string }
  | { type: 'listener.connection'; transport: unknown };

/** Commands the supervisor sends to its listener. */
export type ListenerCommand = { type: 'listener.drain' };

export type SupervisorEvent =
  | ListenerEvent
  | { type: 'signal'; signal: string }
  | { type: 'server.close' };

/** The supervisor's output: what shutdown did. */
export interface ShutdownSummary {
  /** True when a second signal cut the drain short. */
  forced: boolean;
  /** Set when the listener could not start. */
  error?: string;
  /** Connections that closed during the drain, each with its record. */
  drained: CloseRecord[];
  /** Connections still open when the drain ended (deadline or forced); they were terminated. */
  terminated: number;
}
