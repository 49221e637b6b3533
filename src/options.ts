import type { IncomingMessage } from 'node:http';
import { StatewireError } from './protocol/errors';
import type { OverflowPolicy } from './protocol/events';
import type { Broker } from './broker/broker';
import { builtinProtocols, type ProtocolDefinition } from './protocols';

export const OVERFLOW_POLICIES = ['close', 'drop-newest', 'drop-oldest'] as const satisfies readonly OverflowPolicy[];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The protocols statewire ships. */
export const PROTOCOLS = Object.keys(builtinProtocols) as (keyof typeof builtinProtocols)[];
export type ProtocolName = keyof typeof builtinProtocols;

/** Options of `createServer`; every one has a default. */
export interface ServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default `3030`. */
  port?: number;
  /** Path WebSocket upgrades are accepted on. Default `/ws`. */
  path?: string;
  /** The protocol served at `path`; every protocol is also served at `/<name>` and by subprotocol. Default `echo`. */
  protocol?: string;
  /** Where topics live. Default: an in-memory broker of this server. */
  broker?: Broker;
  /** Protocols to serve besides the built-in `echo` and `topics`, by name (made with `defineProtocol`). */
  protocols?: Record<string, ProtocolDefinition>;
  /**
   * Decides on each upgrade before any WebSocket exists: resolve with an
   * identity (handed to the protocol as `input.identity`), or throw/reject to
   * refuse with HTTP 401 (or 403 when the error has `status: 403`).
   */
  authenticate?: (request: IncomingMessage) => unknown;
  /** Origins browsers may connect from (`https://app.example`); others get 403. Default: any. */
  allowOrigins?: string[];
  /** Refuse upgrades without an Origin header (non-browser clients) with 403. Default `false`. */
  requireOrigin?: boolean;
  /** Topics one connection may hold on the topics protocol. Default 100. */
  maxTopics?: number;
  /** json protocols: bad frames answered with an error frame in a row before the connection closes with 1008. Default 10. */
  badFrameTolerance?: number;
  /** Protocol restarts after crashes allowed within `restartWindow` ms before the connection closes with 1011. Default 5. */
  maxRestarts?: number;
  /** Default 10000. */
  restartWindow?: number;
  /** Largest message accepted, in bytes; a bigger one closes the connection with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Milliseconds between heartbeat pings. Default 25000. */
  heartbeatInterval?: number;
  /** Milliseconds a peer has to answer a ping before it is terminated. Default 10000. */
  pongTimeout?: number;
  /**
   * Whether a connection quiet for a whole heartbeat period (nothing read or
   * written between two pongs, nothing queued) hibernates: its actor ends, its
   * socket bridge keeps the socket and the heartbeat, and the next event for
   * it starts a fresh actor where the last one stopped. It also lets a
   * connection open asleep, with no actor until its first message, when its
   * protocol starts with the first message and there is no `authenticate`
   * hook, unless an inspector or `inspect` observer is attached. Default `true`.
   */
  hibernate?: boolean;
  /** Milliseconds a peer has to answer the close frame before it is terminated. Default 5000. */
  closeTimeout?: number;
  /** Milliseconds a graceful shutdown waits for connections to close before terminating them. Default 10000. */
  drainTimeout?: number;
  /** Bytes a connection's outbox may hold, counting the socket's unsent bytes, before its overflow policy applies. Default 1 MiB. */
  outboxLimit?: number;
  /** What happens to a reliable message past the outbox limit: `close` (the connection closes with 4003), `drop-newest` or `drop-oldest`. Default `close`. */
  slowConsumer?: OverflowPolicy;
  /** The same for messages a protocol marks volatile. Default `drop-newest`. */
  slowConsumerVolatile?: OverflowPolicy;
  /** pino log level; logs go to stderr. Default `info`. */
  logLevel?: LogLevel;
  /** Whether SIGINT and SIGTERM start the graceful drain (a second one forces exit). Default `false`; the CLI sets it. */
  handleSignals?: boolean;
  /**
   * An XState inspection observer (a function, or an observer object such as
   * `@statelyai/inspect`'s `inspector.inspect`), passed to the root actor: it
   * sees the supervisor, every connection and every protocol actor.
   */
  inspect?: ((event: unknown) => void) | { next?: (event: unknown) => void };
  /** Serves the built-in inspector page at `GET /inspect` and its event stream at `/inspect/ws`. Default `false`. */
  inspector?: boolean;
  /** A token the inspector requires (`/inspect?token=...`); without one, only loopback clients may open it. Default none. */
  inspectorToken?: string;
  /** Serves Prometheus metrics at `GET /metrics`. Default `true`. */
  metrics?: boolean;
}

/** Options with no default value. */
type Unset = 'inspect' | 'inspectorToken' | 'authenticate' | 'allowOrigins' | 'broker';

export type ResolvedOptions = Required<Omit<ServerOptions, Unset>> & Pick<ServerOptions, Unset>;

export const DEFAULTS: Required<Omit<ServerOptions, Unset>> = {
  host: '127.0.0.1',
  port: 3030,
  path: '/ws',
  protocol: 'echo',
  maxPayload: 1024 * 1024,
  heartbeatInterval: 25_000,
  pongTimeout: 10_000,
  hibernate: true,
  closeTimeout: 5_000,
  drainTimeout: 10_000,
  outboxLimit: 1024 * 1024,
  slowConsumer: 'close',
  slowConsumerVolatile: 'drop-newest',
  logLevel: 'info',
  handleSignals: false,
  inspector: false,
  metrics: true,
  protocols: {},
  requireOrigin: false,
  maxTopics: 100,
  badFrameTolerance: 10,
  maxRestarts: 5,
  restartWindow: 10_000,
};

function bad(message: string): never {
  throw new StatewireError('bad_option', message);
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    bad(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Fills in defaults and checks every option; a bad one throws a StatewireError with code `bad_option`. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  if (typeof o.host !== 'string' || o.host === '') bad('host must be a non-empty string');
  integer('port', o.port, 0, 65535);
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) bad(`path must start with "/", got ${JSON.stringify(o.path)}`);
  if (typeof o.protocols !== 'object' || o.protocols === null) bad('protocols must be an object of protocol definitions by name');
  for (const [name, definition] of Object.entries(o.protocols)) {
    if (!/^[a-z][a-z0-9_-]*$/i.test(name)) bad(`protocol names are letters, digits, "-" and "_", got ${JSON.stringify(name)}`);
    if (definition?.machine === undefined || (definition.codec !== 'text' && definition.codec !== 'json')) {
      bad(`protocols.${name} must come from defineProtocol({ name, machine, codec: 'text' | 'json' })`);
    }
  }
  const names = [...PROTOCOLS, ...Object.keys(o.protocols)];
  if (!names.includes(o.protocol)) bad(`protocol must be one of ${names.join(', ')}, got ${JSON.stringify(o.protocol)}`);
  if (o.authenticate !== undefined && typeof o.authenticate !== 'function') bad('authenticate must be a function');
  if (o.allowOrigins !== undefined && (!Array.isArray(o.allowOrigins) || o.allowOrigins.some((origin) => typeof origin !== 'string'))) {
    bad('allowOrigins must be an array of origins like "https://app.example"');
  }
  if (typeof o.requireOrigin !== 'boolean') bad('requireOrigin must be a boolean');
  integer('maxTopics', o.maxTopics, 0, 2 ** 31 - 1);
  integer('badFrameTolerance', o.badFrameTolerance, 0, 2 ** 31 - 1);
  integer('maxRestarts', o.maxRestarts, 0, 2 ** 31 - 1);
  integer('restartWindow', o.restartWindow, 1, 2 ** 31 - 1);
  integer('maxPayload', o.maxPayload, 1, 2 ** 31 - 1);
  // Timers beyond 2^31-1 ms overflow setTimeout and fire at once.
  integer('heartbeatInterval', o.heartbeatInterval, 1, 2 ** 31 - 1);
  integer('pongTimeout', o.pongTimeout, 1, 2 ** 31 - 1);
  integer('closeTimeout', o.closeTimeout, 1, 2 ** 31 - 1);
  integer('drainTimeout', o.drainTimeout, 0, 2 ** 31 - 1);
  integer('outboxLimit', o.outboxLimit, 1, 2 ** 31 - 1);
  for (const name of ['slowConsumer', 'slowConsumerVolatile'] as const) {
    if (!(OVERFLOW_POLICIES as readonly string[]).includes(o[name])) bad(`${name} must be one of ${OVERFLOW_POLICIES.join(', ')}, got ${JSON.stringify(o[name])}`);
  }
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) bad(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(o.logLevel)}`);
  if (typeof o.handleSignals !== 'boolean') bad('handleSignals must be a boolean');
  if (o.inspect !== undefined && typeof o.inspect !== 'function' && typeof o.inspect?.next !== 'function') {
    bad('inspect must be a function or an observer with next()');
  }
  if (typeof o.inspector !== 'boolean') bad('inspector must be a boolean');
  if (typeof o.metrics !== 'boolean') bad('metrics must be a boolean');
  if (typeof o.hibernate !== 'boolean') bad('hibernate must be a boolean');
  if (o.inspectorToken !== undefined) {
    if (typeof o.inspectorToken !== 'string' || o.inspectorToken === '') bad('inspectorToken must be a non-empty string');
    if (!o.inspector) bad('inspectorToken needs the inspector turned on');
  }
  return o;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
