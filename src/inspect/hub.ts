import type { AnyActorRef, InspectionEvent, Subscription } from 'xstate';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { PoolCounts } from '../actors/connections.actor';
import type { LiveConnection } from '../actors/socket.bridge';
import type { CloseRecord } from '../protocol/events';
import type { StateTree } from './machine-tree';

/** One actor's state as the page shows it. */
export interface ActorView {
  type: 'snapshot';
  /** `supervisor` or a connection id (`conn-1`). */
  id: string;
  value: unknown;
  status: string;
  /** The event that led to this snapshot, by type only (payloads can hold sockets). */
  event?: string;
  at: number;
}

/** A connection that has closed, kept for `closedRetention` ms. */
export interface ClosedView {
  type: 'closed';
  id: string;
  code: number;
  reason: string;
  clean: boolean;
  at: number;
  /** messagesIn, bytesIn, messagesOut, bytesOut, 0 (queued), dropped: the layout of `CountersView`. */
  counters: number[];
}

/** Live counters, sent every `counterInterval` ms while someone watches. */
export interface CountersView {
  type: 'counters';
  at: number;
  /** By connection id: [messagesIn, bytesIn, messagesOut, bytesOut, outbox queued bytes, dropped]. */
  connections: Record<string, number[]>;
  /** Open connections left out (beyond `maxListed`, and selected by no page). */
  more: number;
  /** The connection pool's counts, shown with the supervisor: connections open now, and accepted so far. */
  open: number;
  accepted: number;
}

export type InspectorEvent = ActorView | ClosedView | CountersView;

/** What the page receives: a `hello` with everything on connecting, then batches of events. */
export type InspectorMessage =
  | {
      type: 'hello';
      at: number;
      machines: Record<string, StateTree>;
      closedRetention: number;
      supervisor: ActorView | null;
      connections: ActorView[];
      closed: ClosedView[];
      counters: CountersView;
    }
  | { type: 'events'; events: InspectorEvent[] };

export interface InspectorHubOptions {
  /** The open connections with their live counters (`server.connections`). */
  connections: ReadonlyMap<string, LiveConnection>;
  /** The diagrams the page draws, by the actor kind (`supervisor`, `connection`). */
  machines: Record<string, StateTree>;
  /** Which systemIds are connection actors. */
  connectionPrefix: string;
  /** The connection pool's counts (null until the server has attached its pool). */
  counts: () => PoolCounts | null;
  logger: Logger;
  /** Milliseconds between counter updates. Default 500. */
  counterInterval?: number;
  /** Milliseconds closed connections stay listed. Default 60000. */
  closedRetention?: number;
  /** Connections listed with their counters (selected ones always are). Default 500. */
  maxListed?: number;
}

/** The inspector's event stream to its pages. */
export interface InspectorHub {
  /** The supervisor, once created: inspection starts on it when the first page connects. */
  attach(root: AnyActorRef): void;
  /** Streams to a page's WebSocket until it closes. */
  add(ws: WebSocket): void;
  /** Records a closed connection; O(1), called once per connection whether or not anyone watches. */
  connectionEnded(record: CloseRecord): void;
  /** Sends what is pending and closes every page's socket with 1001. */
  stop(): void;
  /** Pages connected. */
  readonly watchers: number;
}

const MAX_CLOSED = 200;
/** A page this far behind gets nothing more until it catches up, then a fresh `hello`. */
const MAX_BUFFERED = 1024 * 1024;

function sumDropped(dropped: Record<string, number>): number {
  let sum = 0;
  for (const n of Object.values(dropped)) sum += n;
  return sum;
}

/**
 * The inspector's stream. It subscribes to inspection only while at least one
 * page is connected (`system.inspect`), so an unwatched inspector adds nothing
 * to any actor's work; then it keeps the supervisor's and connections'
 * snapshot events (not the protocol actors', which follow every message),
 * batches them per event-loop turn, and adds counters read from the live
 * connections every `counterInterval` ms.
 */
export function createInspectorHub(options: InspectorHubOptions): InspectorHub {
  const { connections, machines, connectionPrefix, logger } = options;
  const counterInterval = options.counterInterval ?? 500;
  const closedRetention = options.closedRetention ?? 60_000;
  const maxListed = options.maxListed ?? 500;
  const clients = new Map<WebSocket, { selected: string | null; stale: boolean }>();
  const closed: ClosedView[] = [];
  let root: AnyActorRef | null = null;
  let inspection: Subscription | null = null;
  let ticker: NodeJS.Timeout | null = null;
  let pending: InspectorEvent[] = [];
  let scheduled = false;
  let stopped = false;

  const viewOf = (id: string, snapshot: unknown, event?: string): ActorView => {
    const s = snapshot as { value?: unknown; status: string };
    const view: ActorView = { type: 'snapshot', id, value: s.value ?? null, status: s.status, at: Date.now() };
    if (event !== undefined) view.event = event;
    return view;
  };

  const counters = (): CountersView => {
    const selected = new Set<string>();
    for (const client of clients.values()) if (client.selected !== null) selected.add(client.selected);
    const pool = options.counts();
    const view: CountersView = { type: 'counters', at: Date.now(), connections: {}, more: 0, open: pool?.open ?? connections.size, accepted: pool?.accepted ?? 0 };
    let listed = 0;
    for (const [id, c] of connections) {
      if (listed >= maxListed && !selected.has(id)) {
        view.more++;
        continue;
      }
      listed++;
      const s = c.outbox.stats;
      view.connections[id] = [c.messagesIn, c.bytesIn, s.written, s.writtenBytes, c.outbox.queued, sumDropped(s.dropped)];
    }
    return view;
  };

  const pruneClosed = (now: number): void => {
    while (closed.length > 0 && (closed.length > MAX_CLOSED || closed[0].at < now - closedRetention)) closed.shift();
  };

  const hello = (): InspectorMessage => {
    const now = Date.now();
    pruneClosed(now);
    const listed: ActorView[] = [];
    for (const id of connections.keys()) {
      if (listed.length >= maxListed) break;
      const actor = root?.system.get(id) as AnyActorRef | undefined;
      if (actor !== undefined) listed.push(viewOf(id, actor.getSnapshot()));
      // A hibernated connection has no actor; its last one ended in `hibernated`.
      else if (connections.get(id)?.hibernated === true) listed.push({ type: 'snapshot', id, value: 'hibernated', status: 'done', at: now });
    }
    return {
      type: 'hello',
      at: now,
      machines,
      closedRetention,
      supervisor: root === null ? null : viewOf('supervisor', root.getSnapshot()),
      connections: listed,
      closed: [...closed],
      counters: counters(),
    };
  };

  const send = (ws: WebSocket, message: InspectorMessage | string): void => {
    const client = clients.get(ws);
    if (client === undefined || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      client.stale = true;
      return;
    }
    if (client.stale) {
      client.stale = false;
      ws.send(JSON.stringify(hello()));
      return;
    }
    ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  };

  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const data = JSON.stringify({ type: 'events', events: pending } satisfies InspectorMessage);
    pending = [];
    for (const ws of clients.keys()) send(ws, data);
  };

  const push = (event: InspectorEvent): void => {
    pending.push(event);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const observe = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const ref = event.actorRef;
    let id: string;
    if (ref === root) {
      id = 'supervisor';
    } else {
      const systemId = (ref as { systemId?: string }).systemId;
      if (systemId === undefined || !systemId.startsWith(connectionPrefix)) return;
      id = systemId;
    }
    try {
      push(viewOf(id, event.snapshot, event.event.type));
    } catch (error) {
      logger.warn({ err: error }, 'inspector failed to record an event');
    }
  };

  const watch = (): void => {
    if (inspection === null && root !== null) inspection = root.system.inspect(observe);
    ticker ??= setInterval(() => push(counters()), counterInterval);
    ticker.unref();
  };
  const unwatch = (): void => {
    inspection?.unsubscribe();
    inspection = null;
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    pending = [];
  };

  return {
    get watchers() {
      return clients.size;
    },
    attach(actor) {
      root = actor;
      if (clients.size > 0) watch();
    },
    add(ws) {
      if (stopped) {
        ws.close(1001, 'server shutting down');
        return;
      }
      clients.set(ws, { selected: null, stale: false });
      ws.on('error', () => undefined);
      ws.on('message', (data) => {
        try {
          const message = JSON.parse(data.toString()) as { type?: unknown; id?: unknown };
          const client = clients.get(ws);
          if (client !== undefined && message.type === 'select') client.selected = typeof message.id === 'string' ? message.id : null;
        } catch {
          // A page sends only `select`; anything else is ignored.
        }
      });
      ws.on('close', () => {
        clients.delete(ws);
        if (clients.size === 0) unwatch();
      });
      watch();
      send(ws, hello());
    },
    connectionEnded(record) {
      const now = Date.now();
      const view: ClosedView = {
        type: 'closed',
        id: record.id,
        code: record.code,
        reason: record.reason,
        clean: record.clean,
        at: now,
        counters: [record.messagesIn, record.bytesIn, record.messagesOut, record.bytesOut, 0, sumDropped(record.dropped)],
      };
      closed.push(view);
      pruneClosed(now);
      if (clients.size > 0) push(view);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (root !== null && clients.size > 0) push(viewOf('supervisor', root.getSnapshot()));
      flush();
      unwatch();
      for (const ws of clients.keys()) {
        ws.close(1001, 'server shutting down');
        // A page that does not answer the close frame must not hold the port.
        setTimeout(() => ws.terminate(), 1_000).unref();
      }
    },
  };
}
