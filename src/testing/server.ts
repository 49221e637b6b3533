import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { ServerOptions } from '../options';
import { createServer, type Server, type ShutdownReport } from '../server';
import type { ListenAddress } from '../protocol/events';

/** How long `next()` and `closed()` wait by default before they reject. */
const DEFAULT_WAIT_MS = 5_000;

/** A ws client on a test server, with a queue of the text messages it received. */
export interface TestClient {
  readonly ws: WebSocket;
  send(message: string): void;
  /** The next message not yet taken, waiting up to `timeoutMs` for it (default 5000). */
  next(timeoutMs?: number): Promise<string>;
  /** The next `count` messages, in order. */
  take(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves with the close code and reason once the connection has closed. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  /** Starts the client's close handshake. */
  close(code?: number, reason?: string): void;
}

/** A statewire server on 127.0.0.1, port 0, for integration tests. */
export interface TestServer extends ListenAddress {
  readonly server: Server;
  /** Opens a client on the server's path (or `path`) and waits for the upgrade. */
  connect(options?: ClientOptions & { path?: string }): Promise<TestClient>;
  /** Terminates every client this server opened and closes the server; resolves with its shutdown report. Idempotent. */
  cleanup(): Promise<ShutdownReport>;
}

function createTestClient(ws: WebSocket): TestClient {
  const queue: string[] = [];
  const waiting = new Set<() => void>();
  let close: { code: number; reason: string } | null = null;
  ws.on('message', (data: RawData) => {
    queue.push(data.toString());
    for (const wake of [...waiting]) wake();
  });
  ws.on('close', (code, reason) => {
    close = { code, reason: reason.toString() };
    for (const wake of [...waiting]) wake();
  });
  ws.on('error', () => undefined);

  /** Resolves with `ready()` once it has a value, rejects with `failed()` once it has one, or after `ms`. */
  const wait = <T>(ms: number, what: string, ready: () => T | undefined, failed: () => Error | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`statewire/testing: no ${what} within ${ms} ms`));
      }, ms);
      const settle = (): void => {
        settled = true;
        waiting.delete(check);
        clearTimeout(timer);
      };
      const check = (): void => {
        const value = ready();
        if (value !== undefined) {
          settle();
          resolve(value);
          return;
        }
        const error = failed();
        if (error !== undefined) {
          settle();
          reject(error);
        }
      };
      check();
      if (!settled) waiting.add(check);
    });

  const client: TestClient = {
    ws,
    send: (message) => ws.send(message),
    next: (ms = DEFAULT_WAIT_MS) =>
      wait(
        ms,
        'message',
        () => queue.shift(),
        () => (close === null ? undefined : new Error(`statewire/testing: the connection closed with ${close.code} before a message arrived`)),
      ),
    async take(count, ms = DEFAULT_WAIT_MS) {
      const messages: string[] = [];
      while (messages.length < count) messages.push(await client.next(ms));
      return messages;
    },
    closed: (ms = DEFAULT_WAIT_MS) => wait(ms, 'close', () => close ?? undefined, () => undefined),
    close: (code, reason) => ws.close(code, reason),
  };
  return client;
}

/**
 * Starts a statewire server on 127.0.0.1, port 0 (logs silenced unless
 * `logLevel` says otherwise) for integration tests over real sockets.
 *
 * @example
 * const srv = await startTestServer();
 * afterEach(() => srv.cleanup());
 * const client = await srv.connect();
 * client.send('hi');
 * expect(await client.next()).toBe('Echo: hi');
 */
export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = createServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options });
  const address = await server.listen();
  const clients = new Set<WebSocket>();
  let cleaned: Promise<ShutdownReport> | null = null;

  return {
    ...address,
    server,
    connect({ path, ...clientOptions } = {}) {
      const url = new URL(address.url);
      if (path !== undefined) url.pathname = path;
      const ws = new WebSocket(url, clientOptions);
      clients.add(ws);
      ws.once('close', () => clients.delete(ws));
      return new Promise<TestClient>((resolve, reject) => {
        ws.once('open', () => resolve(createTestClient(ws)));
        ws.once('error', reject);
      });
    },
    cleanup() {
      cleaned ??= (async () => {
        for (const ws of clients) ws.terminate();
        clients.clear();
        return server.close();
      })();
      return cleaned;
    },
  };
}
