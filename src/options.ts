import { StatewireError } from './protocol/errors';
import type { OverflowPolicy } from './protocol/events';

export const OVERFLOW_POLICIES = ['close', 'drop-newest', 'drop-oldest'] as const satisfies readonly OverflowPolicy[];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The protocols statewire ships. */
export const PROTOCOLS = ['echo'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** Options of `createServer`; every one has a default. */
export interface ServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default `3030`. */
  port?: number;
  /** Path WebSocket upgrades are accepted on. Default `/ws`. */
  path?: string;
  /** The protocol served. Default `echo`. */
  protocol?: ProtocolName;
  /** Largest message accepted, in bytes; a bigger one closes the connection with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Milliseconds between heartbeat pings. Default 25000. */
  heartbeatInterval?: number;
  /** Milliseconds a peer has to answer a ping before it is terminated. Default 10000. */
  pongTimeout?: number;
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
  /** An XState inspection observer, passed to the root actor: it sees the supervisor, every connection and every protocol actor. */
  inspect?: (event: unknown) => void;
  /** Serves the built-in inspector page at `GET /inspect` and its event stream at `/inspect/ws`. Default `false`. */
  inspector?: boolean;
  /** A token the inspector requires (`/inspect?token=...`); without one, only loopback clients may open it. Default none. */
  inspectorToken?: string;
  /** Serves Prometheus metrics at `GET /metrics`. Default `true`. */
  metrics?: boolean;
}

/** Options with no default value. */
type Unset = 'inspect' | 'inspectorToken';

export type ResolvedOptions = Required<Omit<ServerOptions, Unset>> & Pick<ServerOptions, Unset>;

export const DEFAULTS: Required<Omit<ServerOptions, Unset>> = {
  host: '127.0.0.1',
  port: 3030,
  path: '/ws',
  protocol: 'echo',
  maxPayload: 1024 * 1024,
  heartbeatInterval: 25_000,
  pongTimeout: 10_000,
  closeTimeout: 5_000,
  drainTimeout: 10_000,
  outboxLimit: 1024 * 1024,
  slowConsumer: 'close',
  slowConsumerVolatile: 'drop-newest',
  logLevel: 'info',
  handleSignals: false,
  inspector: false,
  metrics: true,
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
  if (!(PROTOCOLS as readonly string[]).includes(o.protocol)) bad(`protocol must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(o.protocol)}`);
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
  if (o.inspect !== undefined && typeof o.inspect !== 'function') bad('inspect must be a function');
  if (typeof o.inspector !== 'boolean') bad('inspector must be a boolean');
  if (typeof o.metrics !== 'boolean') bad('metrics must be a boolean');
  if (o.inspectorToken !== undefined) {
    if (typeof o.inspectorToken !== 'string' || o.inspectorToken === '') bad('inspectorToken must be a non-empty string');
    if (!o.inspector) bad('inspectorToken needs the inspector turned on');
  }
  return o;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
