import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fromCallback } from 'xstate';
import type { Logger } from 'pino';
import type { ListenerCommand, ListenerEvent } from '../protocol/events';

/** A plain HTTP handler mounted at an exact path, e.g. `/metrics`. */
export type HttpRoute = (request: IncomingMessage, response: ServerResponse) => void;
/** An upgrade handler mounted at an exact path, for WebSocket endpoints other than the protocol's. */
export type UpgradeRoute = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * An upgrade request handed to a connection actor: the socket bridge
 * completes or refuses it, then lets go of `request` and `head` so an open
 * connection does not keep its upgrade request alive.
 */
export interface UpgradeTransport {
  request: IncomingMessage | null;
  socket: Duplex & { remoteAddress?: string; remotePort?: number };
  head: Buffer | null;
  /** What inspectors that serialise snapshots see instead of the socket (which is circular). */
  toJSON(): { remote: string };
}

/** An admitted upgrade request; its `toJSON` lives on the prototype, not in a closure per connection. */
class Upgrade implements UpgradeTransport {
  constructor(
    public request: IncomingMessage | null,
    public readonly socket: UpgradeTransport['socket'],
    public head: Buffer | null,
  ) {}

  toJSON(): { remote: string } {
    return { remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` };
  }
}

/** What the server makes of an upgrade request: the protocol to serve, or the HTTP status to refuse it with. */
export type Admission = { protocol: string } | { status: number; message: string };

export interface ListenerOptions {
  host: string;
  port: number;
  path: string;
  logger: Logger;
  /** Decides on an upgrade request on any path that is not an extra route (path, subprotocol, origin). */
  admit: (request: IncomingMessage, path: string) => Admission;
  /**
   * Takes an admitted upgrade (the connection pool's `accept`), and with it
   * the socket's errors; null when nothing can take it, and the upgrade is
   * refused with 503.
   */
  accept: (transport: UpgradeTransport, protocol: string) => string | null;
  /** Extra HTTP endpoints by exact path (`/healthz` is built in). */
  httpRoutes?: ReadonlyMap<string, HttpRoute>;
  /** Extra upgrade endpoints by exact path; they are refused with 503 while draining like the protocol's. */
  upgradeRoutes?: ReadonlyMap<string, UpgradeRoute>;
  /** Called once the HTTP server has closed and released its port. */
  onClosed?: () => void;
  /** Called with the HTTP status of every upgrade refused before the handshake (404, 503), e.g. for metrics. */
  onRefused?: (status: number) => void;
}

const HEALTH_PATH = '/healthz';

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** An error listener for a socket whose errors do not matter (its close follows): unheard, an error would crash the process. */
export const ignoreError = (): void => undefined;

/** Answers an upgrade request with a plain HTTP status before any WebSocket exists. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.on('error', ignoreError);
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The HTTP listener: serves `GET /healthz`, answers every other plain request
 * with 404, and hands admitted WebSocket upgrades to `accept`. While draining
 * it answers health checks and upgrades with 503.
 */
export function createListener(options: ListenerOptions) {
  const { host, port, path, logger } = options;

  return fromCallback<ListenerCommand, void>(({ sendBack, receive }) => {
    const report = (event: ListenerEvent): void => sendBack(event);
    let draining = false;
    const server: HttpServer = createHttpServer((request, response) => {
      if (pathOf(request) === HEALTH_PATH && (request.method === 'GET' || request.method === 'HEAD')) {
        response.writeHead(draining ? 503 : 200, { 'Content-Type': 'text/plain' });
        response.end(draining ? 'draining\n' : 'ok\n');
        return;
      }
      const route = options.httpRoutes?.get(pathOf(request));
      if (route !== undefined) return route(request, response);
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found\n');
    });

    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const requestPath = pathOf(request);
      const route = options.upgradeRoutes?.get(requestPath);
      const refuse = (status: number, message: string): void => {
        options.onRefused?.(status);
        refuseUpgrade(socket, status, message);
      };
      if (draining) return refuse(503, 'Service Unavailable');
      if (route !== undefined) return route(request, socket, head);
      const admission = options.admit(request, requestPath);
      if ('status' in admission) return refuse(admission.status, admission.message);
      // Whoever takes the socket handles its errors from here: ws once upgraded, the socket bridge while it waits.
      if (options.accept(new Upgrade(request, socket, head), admission.protocol) === null) refuse(503, 'Service Unavailable');
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    server.once('error', (error) => {
      logger.error({ err: error }, 'listener failed');
      report({ type: 'listener.failed', message: `cannot listen on ${host}:${port}: ${error.message}` });
    });
    server.once('close', () => options.onClosed?.());
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      report({
        type: 'listener.ready',
        address: { host: address.address, port: address.port, path, url: `ws://${shownHost}:${address.port}${path}` },
      });
    });

    receive((command) => {
      if (command.type === 'listener.drain') draining = true;
    });

    return () => {
      draining = true;
      if (server.listening) {
        server.close();
        server.closeAllConnections();
      } else {
        options.onClosed?.();
      }
    };
  });
}
