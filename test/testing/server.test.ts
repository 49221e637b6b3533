import { startTestServer, type TestServer } from '../../src/testing';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.cleanup();
  srv = undefined;
});

describe('startTestServer', () => {
  it('serves on 127.0.0.1 with a free port and connects clients that read replies in order', async () => {
    srv = await startTestServer();
    expect(srv.url).toBe(`ws://127.0.0.1:${srv.port}/ws`);
    const client = await srv.connect();
    client.send('one');
    client.send('two');
    expect(await client.next()).toBe('Echo: one');
    expect(await client.next()).toBe('Echo: two');
  });

  it('queues messages that arrive before next() is called, and takes several at once', async () => {
    srv = await startTestServer();
    const client = await srv.connect();
    for (const text of ['a', 'b', 'c']) client.send(text);
    expect(await client.take(3)).toEqual(['Echo: a', 'Echo: b', 'Echo: c']);
  });

  it('rejects next() when no message arrives in time', async () => {
    srv = await startTestServer();
    const client = await srv.connect();
    await expect(client.next(20)).rejects.toThrow('no message within 20 ms');
  });

  it('rejects next() when the connection closes first, and resolves closed() with the code', async () => {
    srv = await startTestServer({ maxPayload: 8 });
    const client = await srv.connect();
    const next = client.next();
    client.send('more than eight bytes');
    await expect(next).rejects.toThrow('the connection closed with 1009 before a message arrived');
    expect(await client.closed()).toEqual({ code: 1009, reason: '' });
  });

  it('closes from the client', async () => {
    srv = await startTestServer();
    const client = await srv.connect();
    client.close(1000, 'bye');
    expect(await client.closed()).toEqual({ code: 1000, reason: 'bye' });
  });

  it('connects to another path and fails on one the server does not serve', async () => {
    srv = await startTestServer({ path: '/chat' });
    await expect(srv.connect({ path: '/ws' })).rejects.toThrow('Unexpected server response: 404');
    const client = await srv.connect({ path: '/chat' });
    client.send('hi');
    expect(await client.next()).toBe('Echo: hi');
  });

  it('closes the server and every client in one cleanup(), once', async () => {
    srv = await startTestServer();
    const a = await srv.connect();
    const b = await srv.connect();
    const report = await srv.cleanup();
    expect(await srv.cleanup()).toBe(report);
    expect((await a.closed()).code).toBe(1006);
    expect((await b.closed()).code).toBe(1006);
    expect(srv.server.actor.getSnapshot().status).toBe('done');
    await expect(fetch(`http://127.0.0.1:${srv.port}/healthz`)).rejects.toThrow();
  });
});
