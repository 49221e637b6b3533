import * as net from 'node:net';
import { WebSocket } from 'ws';
import { createServer, type Server } from '../../src/server';
import type { ServerOptions } from '../../src/options';

const servers: Server[] = [];
const clients: WebSocket[] = [];

/** Starts a server on 127.0.0.1, port 0; it is closed after each test. */
export async function startServer(options: ServerOptions = {}) {
  const server = createServer({ port: 0, logLevel: 'silent', ...options });
  servers.push(server);
  const address = await server.listen();
  return { server, ...address };
}

/** Closes every server and client a test opened. */
export async function cleanup(): Promise<void> {
  for (const client of clients.splice(0)) client.terminate();
  await Promise.all(servers.splice(0).map((server) => server.close()));
}

/** Opens a ws client and waits for the upgrade. */
export function connect(url: string, options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const client = new WebSocket(url, options);
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.once('open', () => resolve(client));
    client.once('error', reject);
  });
}

/** Resolves with the code and reason of the client's close. */
export function closed(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Collects the text messages a client receives. */
export function collect(client: WebSocket): string[] {
  const received: string[] = [];
  client.on('message', (data) => received.push(data.toString()));
  return received;
}

/** Resolves once `count` messages have arrived (or rejects after `ms`). */
export function received(client: WebSocket, count: number, ms = 10_000): Promise<string[]> {
  const messages: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${messages.length} of ${count} messages`)), ms);
    const onMessage = (data: Buffer) => {
      messages.push(data.toString());
      if (messages.length === count) {
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve(messages);
      }
    };
    client.on('message', onMessage);
  });
}

/** The HTTP status an upgrade attempt is answered with. */
export function upgradeStatus(url: string, options?: ConstructorParameters<typeof WebSocket>[2]): Promise<number> {
  const client = new WebSocket(url, options);
  return new Promise((resolve, reject) => {
    client.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      client.terminate();
    });
    client.once('open', () => {
      client.terminate();
      resolve(101);
    });
    client.once('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

/** Opens a raw TCP socket, completes the WebSocket upgrade by hand, and resolves once the 101 has arrived. */
export function rawUpgrade(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.once('data', (head) => (head.toString().startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(head.toString()))));
    socket.on('error', () => undefined);
  });
}
