import { connect as connectRaw } from 'node:net';
import { WebSocket } from 'ws';
import { emit, enqueueActions, setup } from 'xstate';
import type { ProtocolEmitted, ProtocolInput } from '../../src/protocol/events';
import { defineProtocol, type ProtocolStart } from '../../src/protocols';
import { LOOKUP_DEADLINE, lookup } from '../protocols/lookup.protocol';
import { cleanup, closed, collect, connect, received, startServer, upgradeStatus } from './helpers';

afterEach(cleanup);

type Json = Record<string, unknown>;

/** A json client: `send` objects, `next()` the next parsed frame, `nothingWithin(ms)`. */
async function jsonClient(url: string, options?: ConstructorParameters<typeof WebSocket>[2]) {
  const ws = await connect(url, options);
  const inbox: Json[] = [];
  const waiting: ((message: Json) => void)[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Json;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  return {
    ws,
    send: (message: Json | string) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: (ms = 2000): Promise<Json> =>
      inbox.length > 0
        ? Promise.resolve(inbox.shift()!)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no message')), ms);
            waiting.push((message) => {
              clearTimeout(timer);
              resolve(message);
            });
          }),
    /** Resolves true when nothing arrived within `ms` (the frames already queued count). */
    nothingWithin: async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return inbox.length === 0;
    },
  };
}

describe('the topics protocol', () => {
  async function subscribed(url: string, topic: string) {
    const client = await jsonClient(url);
    client.send({ type: 'subscribe', topic, ref: 's' });
    expect(await client.next()).toEqual({ type: 'reply', ref: 's', status: 'ok' });
    return client;
  }

  it('delivers a publish to every other subscriber of the topic, not to the sender', async () => {
    const { port } = await startServer();
    const url = `ws://127.0.0.1:${port}/topics`;
    const [a, b, c] = await Promise.all([subscribed(url, 'room:1'), subscribed(url, 'room:1'), subscribed(url, 'room:1')]);
    const other = await subscribed(url, 'room:2');
    a.send({ type: 'publish', topic: 'room:1', payload: { from: 'a', n: [1, 2] }, ref: 'p1' });
    expect(await a.next()).toEqual({ type: 'reply', ref: 'p1', status: 'ok' });
    for (const client of [b, c]) expect(await client.next()).toEqual({ type: 'message', topic: 'room:1', payload: { from: 'a', n: [1, 2] } });
    b.send({ type: 'publish', topic: 'room:1', payload: 'from b', ref: 'p2' });
    expect(await b.next()).toEqual({ type: 'reply', ref: 'p2', status: 'ok' });
    expect(await a.next()).toEqual({ type: 'message', topic: 'room:1', payload: 'from b' });
    expect(await c.next()).toEqual({ type: 'message', topic: 'room:1', payload: 'from b' });
    expect(await a.nothingWithin(50)).toBe(true);
    expect(await b.nothingWithin(0)).toBe(true);
    expect(await other.nothingWithin(0)).toBe(true);
  });

  it('echoes a publish to its sender when asked', async () => {
    const { port } = await startServer();
    const a = await subscribed(`ws://127.0.0.1:${port}/topics`, 't');
    a.send({ type: 'publish', topic: 't', payload: 1, echo: true, ref: 'e' });
    const frames = [await a.next(), await a.next()];
    expect(frames).toContainEqual({ type: 'reply', ref: 'e', status: 'ok' });
    expect(frames).toContainEqual({ type: 'message', topic: 't', payload: 1 });
  });

  it('stops delivery after unsubscribe', async () => {
    const { port } = await startServer();
    const url = `ws://127.0.0.1:${port}/topics`;
    const [a, b] = await Promise.all([subscribed(url, 't'), subscribed(url, 't')]);
    b.send({ type: 'unsubscribe', topic: 't', ref: 'u' });
    expect(await b.next()).toEqual({ type: 'reply', ref: 'u', status: 'ok' });
    a.send({ type: 'publish', topic: 't', payload: 'x', ref: 'p' });
    expect(await a.next()).toEqual({ type: 'reply', ref: 'p', status: 'ok' });
    expect(await b.nothingWithin(50)).toBe(true);
  });

  it('answers ping, and replies with stable error codes', async () => {
    const { port } = await startServer({ maxTopics: 1 });
    const client = await jsonClient(`ws://127.0.0.1:${port}/topics`);
    const ask = async (message: Json) => {
      client.send(message);
      return client.next();
    };
    expect(await ask({ type: 'ping', ref: '4' })).toEqual({ type: 'reply', ref: '4', status: 'ok', payload: 'pong' });
    expect(await ask({ type: 'publish', topic: 'a', payload: 1, ref: '5' })).toMatchObject({ ref: '5', status: 'error', code: 'not_subscribed' });
    expect(await ask({ type: 'unsubscribe', topic: 'a', ref: '6' })).toMatchObject({ ref: '6', status: 'error', code: 'not_subscribed' });
    expect(await ask({ type: 'subscribe', topic: '', ref: '7' })).toMatchObject({ ref: '7', status: 'error', code: 'bad_topic' });
    expect(await ask({ type: 'subscribe', topic: 42, ref: '8' })).toMatchObject({ ref: '8', status: 'error', code: 'bad_topic' });
    expect(await ask({ type: 'subscribe', topic: 'a', ref: '9' })).toEqual({ type: 'reply', ref: '9', status: 'ok' });
    expect(await ask({ type: 'subscribe', topic: 'b', ref: '10' })).toMatchObject({ ref: '10', status: 'error', code: 'too_many_topics' });
    expect(await ask({ type: 'dance', ref: '11' })).toMatchObject({ ref: '11', status: 'error', code: 'unknown_type' });
  });
});

describe('the json codec', () => {
  it('answers bad JSON and bad messages with an error frame and keeps the connection', async () => {
    const { port } = await startServer();
    const client = await jsonClient(`ws://127.0.0.1:${port}/topics`);
    client.send('{not json');
    expect(await client.next()).toMatchObject({ type: 'error', code: 'bad_json' });
    client.send('[1,2]');
    expect(await client.next()).toMatchObject({ type: 'error', code: 'bad_message' });
    client.send('{"type":7}');
    expect(await client.next()).toMatchObject({ type: 'error', code: 'bad_message' });
    client.send({ type: 'ping', ref: 'alive' });
    expect(await client.next()).toEqual({ type: 'reply', ref: 'alive', status: 'ok', payload: 'pong' });
  });

  it('closes with 1008 on the 11th bad frame in a row, after answering the first ten', async () => {
    const { port } = await startServer();
    const client = await jsonClient(`ws://127.0.0.1:${port}/topics`);
    const done = closed(client.ws);
    for (let i = 0; i < 11; i++) client.send('nope');
    for (let i = 0; i < 10; i++) expect(await client.next()).toMatchObject({ type: 'error', code: 'bad_json' });
    expect((await done).code).toBe(1008);
  });

  it('resets the count after a good frame', async () => {
    const { port } = await startServer({ badFrameTolerance: 2 });
    const client = await jsonClient(`ws://127.0.0.1:${port}/topics`);
    for (let round = 0; round < 3; round++) {
      client.send('x');
      client.send('x');
      client.send({ type: 'ping', ref: String(round) });
      await client.next();
      await client.next();
      expect(await client.next()).toMatchObject({ ref: String(round), payload: 'pong' });
    }
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('protocol selection', () => {
  it('serves the default protocol at path, each protocol at /<name>, and by subprotocol', async () => {
    const { port } = await startServer();
    const base = `ws://127.0.0.1:${port}`;
    const byPath = await jsonClient(`${base}/topics`);
    byPath.send({ type: 'ping', ref: 'p' });
    expect(await byPath.next()).toMatchObject({ payload: 'pong' });

    const bySubprotocol = await jsonClient(`${base}/ws`, ['nope', 'topics'] as never);
    expect(bySubprotocol.ws.protocol).toBe('topics');
    bySubprotocol.send({ type: 'ping', ref: 'q' });
    expect(await bySubprotocol.next()).toMatchObject({ payload: 'pong' });

    const echo = await connect(`${base}/echo`);
    const reply = new Promise((resolve) => echo.once('message', (data) => resolve(data.toString())));
    echo.send('hi');
    expect(await reply).toBe('Echo: hi');
    expect(await upgradeStatus(`${base}/nothing`)).toBe(404);
  });
});

describe('a protocol that closes', () => {
  const closer = defineProtocol({
    name: 'closer',
    codec: 'text',
    machine: setup({
      types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted },
      actions: {
        // A socket read may bring several messages: answer each, in order.
        answer: enqueueActions(({ event, enqueue }) => {
          for (const text of event.messages) {
            if (text.startsWith('close ')) enqueue.emit({ type: 'close', code: Number(text.slice(6)), reason: 'asked to' });
            else enqueue.emit({ type: 'send', messages: [`got ${text}`] });
          }
        }),
      },
    }).createMachine({ on: { 'socket.messages': { actions: 'answer' } } }),
  });

  it('closes with the code it emits, after what it sent before', async () => {
    const { port } = await startServer({ protocols: { closer } });
    const ws = await connect(`ws://127.0.0.1:${port}/closer`);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(data.toString()));
    const done = closed(ws);
    ws.send('one');
    ws.send('close 4100');
    expect(await done).toEqual({ code: 4100, reason: 'asked to' });
    expect(frames).toEqual(['got one']);
  });

  it('closes with 1011 when it emits a code no endpoint may send', async () => {
    const { port } = await startServer({ protocols: { closer } });
    const ws = await connect(`ws://127.0.0.1:${port}/closer`);
    const done = closed(ws);
    ws.send('close 1005');
    expect(await done).toEqual({ code: 1011, reason: 'protocol asked for an invalid close code 1005' });
  });
});

describe('request/reply', () => {
  it('replies in time, or with a timeout error past the deadline', async () => {
    const { port } = await startServer({ protocols: { lookup } });
    const client = await jsonClient(`ws://127.0.0.1:${port}/lookup`);
    client.send({ type: 'lookup', ref: 'fast' });
    client.send({ type: 'answer', ref: 'fast', value: 'yes' });
    expect(await client.next()).toEqual({ type: 'reply', ref: 'fast', status: 'ok', payload: 'yes' });
    client.send({ type: 'lookup', ref: 'slow' });
    expect(await client.next(LOOKUP_DEADLINE + 1000)).toMatchObject({ type: 'reply', ref: 'slow', status: 'error', code: 'timeout' });
  });
});

describe('fault containment', () => {
  it('restarts a protocol that throws, without closing the socket, and processes the next messages in order', async () => {
    const { port } = await startServer({ protocols: { lookup } });
    const client = await jsonClient(`ws://127.0.0.1:${port}/lookup`);
    const other = await jsonClient(`ws://127.0.0.1:${port}/lookup`);
    client.send({ type: 'note', n: 1 });
    client.send({ type: 'crash' });
    client.send({ type: 'note', n: 2 });
    client.send({ type: 'note', n: 3 });
    expect(await client.next()).toEqual({ type: 'seen', n: 1 });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'protocol_crash' });
    expect(await client.next()).toEqual({ type: 'seen', n: 2 });
    expect(await client.next()).toEqual({ type: 'seen', n: 3 });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    other.send({ type: 'note', n: 9 });
    expect(await other.next()).toEqual({ type: 'seen', n: 9 });
  });

  it('closes with 1011 past the restart budget', async () => {
    const { port } = await startServer({ protocols: { lookup }, maxRestarts: 2 });
    const client = await jsonClient(`ws://127.0.0.1:${port}/lookup`);
    const done = closed(client.ws);
    for (let i = 0; i < 3; i++) client.send({ type: 'crash' });
    expect((await done).code).toBe(1011);
  });

  it('restarts a text protocol the same way', async () => {
    const fragile = defineProtocol({
      name: 'fragile',
      codec: 'text',
      machine: setup({
        types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted },
        actions: {
          answer: emit(({ event }) => {
            if (event.messages.includes('boom')) throw new Error('boom');
            return { type: 'send' as const, messages: event.messages.map((m) => `ok ${m}`) };
          }),
        },
      }).createMachine({ on: { 'socket.messages': { actions: 'answer' } } }),
    });
    const { port } = await startServer({ protocols: { fragile } });
    const ws = await connect(`ws://127.0.0.1:${port}/fragile`);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(data.toString()));
    ws.send('boom');
    await new Promise((resolve) => setTimeout(resolve, 30));
    ws.send('after');
    while (frames.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(JSON.parse(frames[0])).toMatchObject({ type: 'error', code: 'protocol_crash' });
    expect(frames[1]).toBe('ok after');
  });
});

describe('authentication and origin at upgrade', () => {
  it('accepts the upgrades authenticate resolves, and refuses the others with 401 or 403 before any WebSocket exists', async () => {
    const { url } = await startServer({
      authenticate: (request) => {
        const token = new URL(request.url ?? '/', 'http://x').searchParams.get('token');
        if (token === 'good') return { user: 'ada' };
        if (token === 'banned') throw Object.assign(new Error('banned'), { status: 403 });
        throw new Error('no token');
      },
    });
    const ok = await connect(`${url}?token=good`);
    const reply = new Promise((resolve) => ok.once('message', (data) => resolve(data.toString())));
    ok.send('in');
    expect(await reply).toBe('Echo: in');
    expect(await upgradeStatus(`${url}?token=bad`)).toBe(401);
    expect(await upgradeStatus(`${url}?token=banned`)).toBe(403);
  });

  it('survives a client that resets its socket while authenticate runs: the connection ends with 1006, the next client is served', async () => {
    let release: () => void = () => undefined;
    const authenticating = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const { server, url, port } = await startServer({
      authenticate: async () => {
        if (++calls === 1) await authenticating;
        return { user: 'ada' };
      },
    });
    const raw = connectRaw(port);
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    raw.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    while (calls === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    raw.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // authenticate resolves for a socket that is gone: the upgrade meets the reset.
    release();
    const ok = await connect(url);
    const reply = new Promise((resolve) => ok.once('message', (data) => resolve(data.toString())));
    ok.send('in');
    expect(await reply).toBe('Echo: in');
    ok.close();
    await closed(ok);
    const report = await server.close();
    expect(report.forced).toBe(false);
    const metrics = await server.metrics!.metrics();
    expect(metrics).toMatch(/^statewire_connections_closed_total\{code="1006"\} 1$/m);
  });

  it('refuses a browser upgrade from an origin outside the allowlist with 403', async () => {
    const { url } = await startServer({ allowOrigins: ['https://app.example'] });
    expect(await upgradeStatus(url, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(url, { origin: 'https://app.example' })).toBe(101);
    expect(await upgradeStatus(url)).toBe(101);
  });

  it('refuses clients without Origin when requireOrigin is set', async () => {
    const { url } = await startServer({ allowOrigins: ['https://app.example'], requireOrigin: true });
    expect(await upgradeStatus(url)).toBe(403);
  });
});

describe('when the protocol starts', () => {
  /** Answers each message with itself; with `greeting`, sends it as it starts. */
  const answering = (start?: ProtocolStart, greeting?: string) =>
    defineProtocol({
      name: 'answering',
      codec: 'text',
      start,
      machine: setup({ types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted } }).createMachine({
        entry: emit({ type: 'send', messages: greeting === undefined ? [] : [greeting] }),
        on: { 'socket.messages': { actions: emit(({ event }) => ({ type: 'send' as const, messages: event.messages })) } },
      }),
    });
  const connectionOf = (server: { actor: { system: { get(id: string): unknown } } }, id: string) =>
    (server.actor.system.get(id) as { getSnapshot(): { children: Record<string, unknown>; value: unknown } }).getSnapshot();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('starts with the upgrade by default', async () => {
    const { url, server } = await startServer({ protocols: { answering: answering() }, protocol: 'answering' });
    await connect(url);
    await settle();
    const [id] = [...server.connections.keys()];
    expect(connectionOf(server, id!).children.protocol).toBeDefined();
    expect(connectionOf(server, id!).value).toMatchObject({ open: { protocol: 'running' } });
  });

  it("with start: 'message', an idle connection holds no protocol actor; the first read starts it and every message of it is answered in order", async () => {
    // Without hibernation the connection's actor idles in `dormant` (with it, the connection opens asleep: next test).
    const { url, server } = await startServer({ protocols: { answering: answering('message') }, protocol: 'answering', hibernate: false });
    const client = await connect(url);
    const replies = collect(client);
    await settle();
    const [id] = [...server.connections.keys()];
    expect(connectionOf(server, id!).children.protocol).toBeUndefined();
    expect(connectionOf(server, id!).value).toMatchObject({ open: { protocol: 'dormant' } });
    // Three frames in one TCP write: one socket read on the server.
    const underlying = (client as unknown as { _socket: { write(b: Buffer): void } })._socket;
    underlying.write(Buffer.concat(['a', 'b', 'c'].map((m) => maskedTextFrame(m))));
    await received(client, 3);
    expect(replies).toEqual(['a', 'b', 'c']);
    expect(connectionOf(server, id!).value).toMatchObject({ open: { protocol: 'running' } });
    expect(server.connections.get(id!)!.messagesIn).toBe(3);
  });

  it("with start: 'message' and hibernation on, a connection opens asleep: no actor until its first read, which wakes it and is answered whole, in order", async () => {
    const { url, server } = await startServer({ protocols: { answering: answering('message') }, protocol: 'answering' });
    const client = await connect(url);
    const replies = collect(client);
    await settle();
    const [id] = [...server.connections.keys()];
    expect(server.actor.system.get(id!)).toBeUndefined();
    expect(server.connections.get(id!)!.hibernated).toBe(true);
    const underlying = (client as unknown as { _socket: { write(b: Buffer): void } })._socket;
    underlying.write(Buffer.concat(['a', 'b', 'c'].map((m) => maskedTextFrame(m))));
    await received(client, 3);
    expect(replies).toEqual(['a', 'b', 'c']);
    expect(server.connections.get(id!)!.hibernated).toBe(false);
    expect(connectionOf(server, id!).value).toMatchObject({ open: { protocol: 'running' } });
    expect(server.connections.get(id!)!.messagesIn).toBe(3);
  });

  const greeter = (start?: ProtocolStart) => answering(start, 'hello');

  it('delivers what a protocol sends as it starts, before the upgrade completed: a greeting comes first, unasked', async () => {
    const { url } = await startServer({ protocols: { answering: greeter() }, protocol: 'answering' });
    const { client, replies } = await listening(url);
    if (replies.length === 0) await received(client, 1);
    expect(replies).toEqual(['hello']);
    client.send('hi');
    await received(client, 1);
    expect(replies).toEqual(['hello', 'hi']);
  });

  it("a lazy protocol's greeting comes before its first answer", async () => {
    const { url } = await startServer({ protocols: { answering: greeter('message') }, protocol: 'answering' });
    const { client, replies } = await listening(url);
    client.send('hi');
    await received(client, 2);
    expect(replies).toEqual(['hello', 'hi']);
  });

  it('built-in echo starts with the first message: its connections open asleep, with no actor until then', async () => {
    const { url, server } = await startServer();
    const client = await connect(url);
    await settle();
    const [id] = [...server.connections.keys()];
    expect(server.actor.system.get(id!)).toBeUndefined();
    client.send('hi');
    expect(await received(client, 1)).toEqual(['Echo: hi']);
    expect(connectionOf(server, id!).children.protocol).toBeDefined();
  });
});

/** Opens a client that collects from its first frame on (one may come in the same read as the 101). */
async function listening(url: string) {
  const client = new WebSocket(url);
  const replies = collect(client);
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  return { client, replies };
}

/** A client-to-server text frame (RFC 6455 5.3: masked), for writing several into one TCP segment. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}
