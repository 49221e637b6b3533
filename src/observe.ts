import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Actor, AnyActorRef } from 'xstate';
import { connectionMachine } from '../machines/connection.machine';
import { supervisorMachine } from '../machines/supervisor.machine';
import { CONNECTION_ID_PREFIX, type ConnectionPoolHooks, type PoolCounts } from './actors/connections.actor';
import type { HttpRoute, ListenerOptions, UpgradeRoute } from './actors/listener.actor';
import type { LiveConnection } from './actors/socket.bridge';
import { createInspector } from './inspect/inspector';
import { createMetrics } from './metrics';

export const METRICS_PATH = '/metrics';

export interface ObservabilityOptions {
  logger: Logger;
  /** The open connections with their live counters (`server.connections`). */
  connections: ReadonlyMap<string, LiveConnection>;
  metrics: boolean;
  inspector: boolean;
  inspectorToken?: string;
}

/** A server's logs, metrics and inspector, wired to its listener, its connection pool and its supervisor. */
export interface Observability {
  /** Routes and hooks to pass to the listener. */
  listener: Pick<ListenerOptions, 'httpRoutes' | 'upgradeRoutes' | 'onRefused'>;
  /** Hooks to pass to the connection pool. */
  pool: ConnectionPoolHooks;
  /** Follows the supervisor and its pool once they exist: lifecycle logs, drain duration, connection counts, the inspector's stream. */
  attach(supervisor: Actor<typeof supervisorMachine>, pool: PoolCounts): void;
  /** The server's own Prometheus registry; null with `metrics: false`. */
  readonly registry: Registry | null;
  /** When the drain began (`Date.now()`), null before: the server's close report measures its drain from it. */
  readonly drainStartedAt: number | null;
}

/** The top-level state of an actor (`open` for `{ open: { heartbeat: 'idle', ... } }`). */
function topState(actor: AnyActorRef | undefined): string | undefined {
  const value: unknown = actor?.getSnapshot().value;
  if (typeof value === 'string') return value;
  return value !== null && typeof value === 'object' ? Object.keys(value)[0] : undefined;
}

/**
 * Wires logs (lifecycle at info, never per message), Prometheus metrics
 * (`GET /metrics`, read at scrape time) and the built-in inspector
 * (`GET /inspect`, `/inspect/ws`) into one server. Nothing here runs per
 * message.
 */
export function createObservability(options: ObservabilityOptions): Observability {
  const { logger, connections } = options;
  let supervisor: Actor<typeof supervisorMachine> | null = null;
  let pool: PoolCounts | null = null;
  let drainStartedAt: number | null = null;
  let drainFinishedAt: number | null = null;

  const metrics = options.metrics
    ? createMetrics({
        connections,
        states: Object.keys(connectionMachine.root.states),
        // A hibernated connection has no actor: its bridge says so.
        stateOf: (id) => topState(supervisor?.system.get(id) as AnyActorRef | undefined) ?? (connections.get(id)?.hibernated ? 'hibernated' : undefined),
        opened: () => pool?.accepted ?? 0,
        drainSeconds: () => (drainStartedAt === null ? null : ((drainFinishedAt ?? Date.now()) - drainStartedAt) / 1000),
      })
    : null;
  const inspector = options.inspector
    ? createInspector({
        connections,
        machines: { supervisor: supervisorMachine, connection: connectionMachine },
        connectionPrefix: CONNECTION_ID_PREFIX,
        counts: () => pool,
        logger,
        ...(options.inspectorToken === undefined ? {} : { token: options.inspectorToken }),
        ...(metrics === null ? {} : { onRefused: (status: number) => metrics.handshakeRefused(status) }),
      })
    : null;

  const httpRoutes = new Map<string, HttpRoute>(inspector?.httpRoutes ?? []);
  if (metrics !== null) httpRoutes.set(METRICS_PATH, metrics.route);
  const upgradeRoutes = new Map<string, UpgradeRoute>(inspector?.upgradeRoutes ?? []);

  return {
    registry: metrics?.registry ?? null,
    get drainStartedAt() {
      return drainStartedAt;
    },
    listener: {
      httpRoutes,
      upgradeRoutes,
      ...(metrics === null ? {} : { onRefused: (status: number) => metrics.handshakeRefused(status) }),
    },
    pool: {
      onAccepted: (id) => logger.info({ connection: id }, 'connection opened'),
      onEnded: (record) => {
        logger.info({ connection: record.id, code: record.code, reason: record.reason, clean: record.clean }, 'connection closed');
        metrics?.connectionClosed(record);
        inspector?.hub.connectionEnded(record);
      },
    },
    attach(actor, counts) {
      supervisor = actor;
      pool = counts;
      inspector?.hub.attach(actor);
      let listening = false;
      actor.subscribe({
        next: (snapshot) => {
          const { address } = snapshot.context;
          if (!listening && address !== null) {
            listening = true;
            logger.info({ url: address.url, metrics: metrics !== null, inspector: inspector !== null }, 'listening');
          }
          // The drain shows as `draining` (until the pool answers how many are open); `done` covers a stop without one.
          if (listening && drainStartedAt === null && (snapshot.value === 'draining' || snapshot.status === 'done')) {
            drainStartedAt = Date.now();
            logger.info({ open: counts.open }, 'drain started');
          }
          if (snapshot.status === 'done' && drainFinishedAt === null) {
            drainFinishedAt = Date.now();
            const output = snapshot.output;
            if (drainStartedAt !== null && output !== undefined) {
              const { drained, terminated, forced } = output;
              logger.info({ drainMs: drainFinishedAt - drainStartedAt, closed: drained.length, terminated, forced }, 'drain finished');
            }
            inspector?.hub.stop();
          }
        },
        error: () => inspector?.hub.stop(),
      });
    },
  };
}
