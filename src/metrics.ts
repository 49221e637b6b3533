import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { LiveConnection } from './actors/socket.bridge';
import { noDrops, type CloseRecord, type OverflowPolicy } from './protocol/events';

/** What the metrics read when scraped; nothing is counted per message. */
export interface MetricsSources {
  /** The open connections with their live counters (`server.connections`). */
  connections: ReadonlyMap<string, LiveConnection>;
  /** Every top-level state of the connection machine, so each has a series from the start. */
  states: readonly string[];
  /** The top-level state of a connection actor (`open`, `closing`, ...), by id. */
  stateOf: (id: string) => string | undefined;
  /** Connections accepted since the server started. */
  opened: () => number;
  /** Seconds the drain took (or has taken so far), null before one starts. */
  drainSeconds: () => number | null;
}

/** A server's Prometheus metrics, in a registry of its own (several servers may share a process). */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Counts a connection's close record; called once per connection, never per message. */
  connectionClosed(record: CloseRecord): void;
  /** Counts an upgrade refused before the handshake, by HTTP status. */
  handshakeRefused(status: number): void;
  /** `GET /metrics` in the Prometheus text format. */
  route(request: IncomingMessage, response: ServerResponse): void;
}

const DROP_REASONS: readonly OverflowPolicy[] = ['close', 'drop-newest', 'drop-oldest'];

/** Sums of the counters of closed connections. */
interface ClosedTotals {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  dropped: Record<OverflowPolicy, number>;
  readAfterClose: number;
  socketClosed: number;
}

/**
 * Creates the metrics of one server. Counters of open connections are read
 * from their live counters at scrape time and added to the sums of closed
 * ones, so the hot path does no metrics work at all.
 *
 * @example
 * const metrics = createMetrics({ connections, states, stateOf, opened, drainSeconds });
 * httpRoutes.set('/metrics', metrics.route);
 */
export function createMetrics(sources: MetricsSources): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const closed: ClosedTotals = {
    messagesIn: 0,
    bytesIn: 0,
    messagesOut: 0,
    bytesOut: 0,
    dropped: noDrops(),
    readAfterClose: 0,
    socketClosed: 0,
  };
  /** Sums a field over the open connections and adds the closed ones' sum. */
  const total = (closedSum: number, live: (c: LiveConnection) => number): number => {
    let sum = closedSum;
    for (const connection of sources.connections.values()) sum += live(connection);
    return sum;
  };
  /** A counter whose value is computed at scrape time. */
  const derived = (name: string, help: string, value: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };

  new Gauge({
    name: 'statewire_connections',
    help: 'Connections by the top-level state of their actor.',
    labelNames: ['state'],
    registers,
    collect() {
      const byState = new Map<string, number>(sources.states.map((state) => [state, 0]));
      for (const id of sources.connections.keys()) {
        const state = sources.stateOf(id);
        if (state !== undefined) byState.set(state, (byState.get(state) ?? 0) + 1);
      }
      for (const [state, n] of byState) this.set({ state }, n);
    },
  });
  derived('statewire_connections_opened_total', 'Connections accepted (upgraded) since start.', sources.opened);
  // Counted in a plain map and read at scrape time: a labelled `inc` per close cost a handshake about 2 us.
  const closedByCode = new Map<number, number>();
  new Counter({
    name: 'statewire_connections_closed_total',
    help: 'Connections closed, by close code.',
    labelNames: ['code'],
    registers,
    collect() {
      this.reset();
      for (const [code, n] of closedByCode) this.inc({ code: String(code) }, n);
    },
  });
  derived('statewire_messages_in_total', 'Data messages read from clients.', () => total(closed.messagesIn, (c) => c.messagesIn));
  derived('statewire_bytes_in_total', 'Bytes of data messages read from clients.', () => total(closed.bytesIn, (c) => c.bytesIn));
  derived('statewire_messages_out_total', 'Data messages written to clients.', () => total(closed.messagesOut, (c) => c.outbox.stats.written));
  derived('statewire_bytes_out_total', 'Bytes of data messages written to clients.', () =>
    total(closed.bytesOut, (c) => c.outbox.stats.writtenBytes),
  );
  new Counter({
    name: 'statewire_outbox_dropped_total',
    help: 'Outbound messages dropped by a slow-consumer policy, by policy.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const reason of DROP_REASONS) this.inc({ reason }, total(closed.dropped[reason], (c) => c.outbox.stats.dropped[reason]));
    },
  });
  new Counter({
    name: 'statewire_messages_undelivered_total',
    help: 'Messages accepted but never delivered: read after the close decision, or still queued when the socket closed.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      this.inc({ reason: 'read_after_close' }, total(closed.readAfterClose, (c) => c.readAfterClose));
      this.inc({ reason: 'socket_closed' }, total(closed.socketClosed, (c) => c.outbox.stats.undelivered));
    },
  });
  new Gauge({
    name: 'statewire_outbox_queued_bytes',
    help: 'Bytes queued in the outboxes of open connections.',
    registers,
    collect() {
      this.set(total(0, (c) => c.outbox.queued));
    },
  });
  // Protocol actors are not restarted yet: the series exists so dashboards and alerts can be written now.
  new Counter({ name: 'statewire_protocol_restarts_total', help: 'Protocol actors restarted after a failure.', registers });
  const refused = new Counter({
    name: 'statewire_handshake_rejections_total',
    help: 'Upgrade requests refused before the handshake, by HTTP status.',
    labelNames: ['status'],
    registers,
  });
  new Gauge({
    name: 'statewire_drain_duration_seconds',
    help: 'How long the graceful drain took (so far, while it runs); 0 before one starts.',
    registers,
    collect() {
      this.set(sources.drainSeconds() ?? 0);
    },
  });

  return {
    registry,
    connectionClosed(record) {
      closedByCode.set(record.code, (closedByCode.get(record.code) ?? 0) + 1);
      closed.messagesIn += record.messagesIn;
      closed.bytesIn += record.bytesIn;
      closed.messagesOut += record.messagesOut;
      closed.bytesOut += record.bytesOut;
      for (const reason of DROP_REASONS) closed.dropped[reason] += record.dropped[reason];
      closed.readAfterClose += record.undelivered.readAfterClose;
      closed.socketClosed += record.undelivered.socketClosed;
    },
    handshakeRefused(status) {
      refused.inc({ status: String(status) });
    },
    route(request, response) {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
        response.end('method not allowed\n');
        return;
      }
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
          response.end(request.method === 'HEAD' ? undefined : text);
        },
        (error: Error) => {
          response.writeHead(500, { 'Content-Type': 'text/plain' });
          response.end(`metrics failed: ${error.message}\n`);
        },
      );
    },
  };
}
