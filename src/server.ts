import pino from 'pino';
import type { Registry } from 'prom-client';
import { createActor, toPromise } from 'xstate';
import type { Actor, InspectionEvent } from 'xstate';
import { supervisorMachine } from '../machines/supervisor.machine';
import { createConnectionPool } from './actors/connections.actor';
import { createListener } from './actors/listener.actor';
import { indexDelayedEvents } from './actors/scheduler';
import { noSignals, processSignals } from './actors/signals.actor';
import type { LiveConnection } from './actors/socket.bridge';
import { watchInspection, type Inspection } from './actors/stationary';
import { createAdmission, createConnectionLogic, protocolsOf } from './assemble';
import { createMemoryBroker } from './broker/memory.broker';
import { resolveOptions, type ServerOptions } from './options';
import { createObservability } from './observe';
import { StatewireError } from './protocol/errors';
import type { CloseRecord, ListenAddress, ShutdownSummary } from './protocol/events';


/** Sums over the close records of a shutdown. */
export interface ShutdownTotals {
  connections: number;
  messagesIn: number;
  messagesOut: number;
  dropped: number;
  undelivered: number;
}

/** What `close()` resolves with. */
export interface ShutdownReport extends ShutdownSummary {
  /** Milliseconds from the start of the drain to the supervisor's stop. */
  drainMs: number;
  totals: ShutdownTotals;
}

/** Sums the close records of a shutdown. */
export function totalsOf(records: readonly CloseRecord[]): ShutdownTotals {
  const totals: ShutdownTotals = { connections: records.length, messagesIn: 0, messagesOut: 0, dropped: 0, undelivered: 0 };
  for (const r of records) {
    totals.messagesIn += r.messagesIn;
    totals.messagesOut += r.messagesOut;
    totals.dropped += r.dropped.close + r.dropped['drop-newest'] + r.dropped['drop-oldest'];
    totals.undelivered += r.undelivered.readAfterClose + r.undelivered.socketClosed;
  }
  return totals;
}

export interface Server {
  /** Starts listening; resolves with the bound address (the real port when `port` is 0). */
  listen(): Promise<ListenAddress>;
  /** The graceful drain a signal starts; resolves once the server has stopped and released its port. */
  close(): Promise<ShutdownReport>;
  /**
   * Queues a message into every open connection's outbox, like Socket.IO's
   * `io.emit`; resolves nothing, returns how many connections it reached.
   * A volatile message is dropped for a connection that reads too slowly.
   */
  broadcast(message: string, options?: { volatile?: boolean }): number;
  /** The open connections by id, with their live counters. */
  readonly connections: ReadonlyMap<string, LiveConnection>;
  /** The supervisor actor: subscribe to it, or inspect it. */
  readonly actor: Actor<typeof supervisorMachine>;
  /** This server's own Prometheus registry (served at `GET /metrics`; null with `metrics: false`): add your metrics to it. */
  readonly metrics: Registry | null;
}

/**
 * Creates a statewire server. Options are checked at once: a bad one throws a
 * `StatewireError` with code `bad_option`.
 *
 * @example
 * const server = createServer({ port: 0 });
 * const { url } = await server.listen(); // ws://127.0.0.1:<port>/ws
 * const report = await server.close();   // every connection closed with 1001
 */
export function createServer(options: ServerOptions = {}): Server {
  const o = resolveOptions(options);
  const logger = pino({ name: 'statewire', level: o.logLevel }, pino.destination({ dest: 2, sync: true }));
  const protocols = protocolsOf(o);
  const broker = options.broker ?? createMemoryBroker();
  let releasePort: () => void = () => undefined;
  const portReleased = new Promise<void>((resolve) => (releasePort = resolve));

  const registry = new Map<string, LiveConnection>();
  const observability = createObservability({
    logger,
    connections: registry,
    metrics: o.metrics,
    inspector: o.inspector,
    ...(o.inspectorToken === undefined ? {} : { inspectorToken: o.inspectorToken }),
  });
  // Stationary transitions skip the interpreter only while no inspection observer watches (see stationary.ts).
  const inspection: Inspection = { observers: o.inspect === undefined ? 0 : 1 };
  const connections = createConnectionLogic(o, protocols, { logger, broker, registry, inspection });
  const pool = createConnectionPool(connections.kinds, connections.common, observability.pool);
  const machine = supervisorMachine.provide({
    actors: {
      listener: createListener({
        host: o.host,
        port: o.port,
        path: o.path,
        logger,
        admit: createAdmission(o, protocols),
        accept: pool.accept,
        onClosed: releasePort,
        ...observability.listener,
      }),
      signals: o.handleSignals ? processSignals : noSignals,
      connections: pool.logic,
    },
    delays: { drainTimeout: o.drainTimeout },
  });

  const observer = typeof o.inspect === 'object' ? o.inspect.next?.bind(o.inspect) : o.inspect;
  const actor = createActor(machine, {
    // An inspection observer that throws must not take the server down.
    inspect: observer && ((event: InspectionEvent) => {
      try {
        observer(event);
      } catch (error) {
        logger.warn({ err: error }, 'inspection observer threw');
      }
    }),
  });
  indexDelayedEvents(actor.system);
  watchInspection(actor.system, inspection);
  observability.attach(actor, pool);
  actor.subscribe({ error: (error) => logger.error({ err: error }, 'supervisor failed') });
  const done = toPromise(actor);
  let started = false;
  const start = (): void => {
    if (!started) {
      started = true;
      actor.start();
    }
  };

  return {
    actor,
    connections: registry,
    metrics: observability.registry,
    broadcast(message, options) {
      for (const connection of registry.values()) connection.outbox.push(message, options);
      return registry.size;
    },
    listen() {
      start();
      return new Promise<ListenAddress>((resolve, reject) => {
        const check = (): boolean => {
          const snapshot = actor.getSnapshot();
          if (snapshot.context.address !== null) {
            resolve(snapshot.context.address);
            return true;
          }
          if (snapshot.status !== 'active') {
            reject(new StatewireError('listen_failed', snapshot.context.error ?? 'the server stopped before it listened'));
            return true;
          }
          return false;
        };
        if (check()) return;
        const subscription = actor.subscribe({
          next: () => check() && subscription.unsubscribe(),
          error: (error) => reject(error),
        });
      });
    },
    async close() {
      start();
      const closeAt = Date.now();
      actor.send({ type: 'server.close' });
      const summary = await done;
      await portReleased;
      return { ...summary, drainMs: Date.now() - (observability.drainStartedAt ?? closeAt), totals: totalsOf(summary.drained) };
    },
  };
}
