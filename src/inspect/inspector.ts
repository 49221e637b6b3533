import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AnyStateMachine } from 'xstate';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { refuseUpgrade, type HttpRoute, type UpgradeRoute } from '../actors/listener.actor';
import type { PoolCounts } from '../actors/connections.actor';
import type { LiveConnection } from '../actors/socket.bridge';
import { createInspectorAccess } from './access';
import { createInspectorHub, type InspectorHub } from './hub';
import { describeMachine } from './machine-tree';
import { INSPECTOR_PAGE, INSPECTOR_PAGE_CSP } from './page';

/** Where the page is served. */
export const INSPECT_PATH = '/inspect';
/** Where the page's event stream is served. */
export const INSPECT_WS_PATH = '/inspect/ws';

export interface InspectorOptions {
  /** The open connections with their live counters (`server.connections`). */
  connections: ReadonlyMap<string, LiveConnection>;
  /** The machines the page draws. */
  machines: { supervisor: AnyStateMachine; connection: AnyStateMachine };
  /** Which systemIds are connection actors (`conn-`). */
  connectionPrefix: string;
  /** The connection pool's counts, shown with the supervisor (null until the server has attached its pool). */
  counts: () => PoolCounts | null;
  /** Required from every client when set; otherwise only loopback clients are let in. */
  token?: string;
  logger: Logger;
  /** Called with 403 for every refused upgrade, e.g. for metrics. */
  onRefused?: (status: number) => void;
}

/** The built-in inspector: its routes for the listener and its event hub. */
export interface Inspector {
  httpRoutes: ReadonlyArray<[string, HttpRoute]>;
  upgradeRoutes: ReadonlyArray<[string, UpgradeRoute]>;
  hub: InspectorHub;
}

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': INSPECTOR_PAGE_CSP,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // The token may be in the page's URL: never send it anywhere.
  'Referrer-Policy': 'no-referrer',
};

/**
 * Creates the built-in inspector: `GET /inspect` serves the page,
 * `/inspect/ws` streams the supervisor's and every connection's state and
 * counters to it. Clients that may not open it get 403 (before the upgrade,
 * for the stream).
 *
 * @example
 * const inspector = createInspector({ connections, machines, connectionPrefix: 'conn-', counts: () => pool, logger });
 * // mount inspector.httpRoutes and inspector.upgradeRoutes on the listener, then:
 * inspector.hub.attach(supervisorActor);
 */
export function createInspector(options: InspectorOptions): Inspector {
  const allowed = createInspectorAccess(options.token);
  const hub = createInspectorHub({
    connections: options.connections,
    machines: { supervisor: describeMachine(options.machines.supervisor), connection: describeMachine(options.machines.connection) },
    connectionPrefix: options.connectionPrefix,
    counts: options.counts,
    logger: options.logger,
  });
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: 4096 });

  const page = (request: IncomingMessage, response: ServerResponse): void => {
    if (!allowed(request)) {
      response.writeHead(403, { 'Content-Type': 'text/plain' });
      response.end('forbidden\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      response.end('method not allowed\n');
      return;
    }
    response.writeHead(200, PAGE_HEADERS);
    response.end(request.method === 'HEAD' ? undefined : INSPECTOR_PAGE);
  };

  const stream = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!allowed(request)) {
      options.onRefused?.(403);
      refuseUpgrade(socket, 403, 'Forbidden');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => hub.add(ws));
  };

  return { httpRoutes: [[INSPECT_PATH, page]], upgradeRoutes: [[INSPECT_WS_PATH, stream]], hub };
}
