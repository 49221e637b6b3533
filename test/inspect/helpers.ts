import { request } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import type { AnyActorRef } from 'xstate';
import { WebSocket } from 'ws';
import type { InspectorEvent, InspectorMessage } from '../../src/inspect/hub';
import type { Server } from '../../src/server';

/** Resolves once the connection actor `id` has ended (at once if it already has). */
export function ended(server: Server, id: string): Promise<void> {
  const actor = server.actor.system.get(id) as AnyActorRef | undefined;
  if (actor === undefined || actor.getSnapshot().status !== 'active') return Promise.resolve();
  return new Promise((resolve) => actor.subscribe({ complete: () => resolve(), error: () => resolve() }));
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP request to the server on 127.0.0.1. */
export function httpGet(port: number, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET'): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client of the inspector's stream, as the page is. */
export interface InspectorClient {
  ws: WebSocket;
  hello: Extract<InspectorMessage, { type: 'hello' }>;
  /** Every event received so far, in order. */
  events: InspectorEvent[];
  /** Resolves with the first event, received so far or later, that matches (rejects after `ms`). */
  until<T extends InspectorEvent>(match: (event: InspectorEvent) => event is T, ms?: number): Promise<T>;
  until(match: (event: InspectorEvent) => boolean, ms?: number): Promise<InspectorEvent>;
  closed: Promise<number>;
}

/** Opens `/inspect/ws` and waits for its hello. */
export function openInspector(baseUrl: string, options: { query?: string } = {}): Promise<InspectorClient> {
  const ws = new WebSocket(`${baseUrl}/inspect/ws${options.query ?? ''}`);
  const events: InspectorEvent[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as InspectorMessage;
      if (message.type === 'hello') {
        const until = (match: (event: InspectorEvent) => boolean, ms = 10_000): Promise<InspectorEvent> =>
          new Promise((found, fail) => {
            const check = (): boolean => {
              const event = events.find(match);
              if (event === undefined) return false;
              clearTimeout(timer);
              waiters.delete(onEvent);
              found(event);
              return true;
            };
            const onEvent = (): void => void check();
            const timer = setTimeout(() => {
              waiters.delete(onEvent);
              fail(new Error(`no matching inspector event among ${JSON.stringify(events).slice(0, 2000)}`));
            }, ms);
            if (!check()) waiters.add(onEvent);
          });
        resolve({ ws, hello: message, events, until: until as InspectorClient['until'], closed });
      } else {
        events.push(...message.events);
        for (const waiter of [...waiters]) waiter();
      }
    });
  });
}
