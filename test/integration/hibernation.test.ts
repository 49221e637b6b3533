import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../src/protocol/close-codes';
import type { ConnectionOutput } from '../../src/protocol/events';
import type { Server } from '../../src/server';
import { stillReachable } from '../gc';
import { cleanup, closed, collect, connect, received, startServer } from './helpers';

afterEach(cleanup);

// Short heartbeats: a connection quiet for one whole period hibernates at its next pong.
const HEARTBEAT = { heartbeatInterval: 60, pongTimeout: 200 };

/** Waits until `condition` holds, polling; fails the test after `ms`. */
async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const actorOf = (server: Server, id: string) => server.actor.system.get(id) as AnyActorRef | undefined;
const hibernated = (server: Server, id: string) => server.connections.get(id)?.hibernated === true;

/** Every output of the connection actors, in order: hibernations and close records. */
function outputsOf(server: Server): Map<string, ConnectionOutput[]> {
  const outputs = new Map<string, ConnectionOutput[]>();
  server.actor.system.inspect({
    next: (event: InspectionEvent) => {
      const id = (event.actorRef as AnyActorRef).id;
      if (event.type !== '@xstate.snapshot' || !id.startsWith('conn-')) return;
      const snapshot = event.snapshot as { status: string; output?: ConnectionOutput };
      if (snapshot.status === 'done') outputs.set(id, [...(outputs.get(id) ?? []), snapshot.output!]);
    },
  });
  return outputs;
}

describe('hibernation, over real sockets', () => {
  it('ends the actor of a quiet connection, keeps its socket, and wakes it with the next message, in order and counted', async () => {
    const { server, url } = await startServer(HEARTBEAT);
    const outputs = outputsOf(server);
    const client = await connect(url);
    const got = collect(client);
    client.send('one');
    await until(() => got.length === 1, 'the first echo');
    await until(() => hibernated(server, 'conn-1'), 'the connection hibernates');
    expect(actorOf(server, 'conn-1')).toBeUndefined();
    // Still open and still counted: hibernating is not ending.
    expect(server.connections.size).toBe(1);
    expect(outputs.get('conn-1')).toEqual([{ id: 'conn-1', hibernated: true, protocol: expect.objectContaining({ status: 'active' }), identity: null }]);

    client.send('two');
    client.send('three');
    await until(() => got.length === 3, 'the echoes after waking');
    expect(got).toEqual(['Echo: one', 'Echo: two', 'Echo: three']);
    expect(actorOf(server, 'conn-1')?.getSnapshot().value).toMatchObject({ open: { protocol: 'running' } });

    const report = server.close();
    expect((await closed(client)).code).toBe(CloseCode.GoingAway);
    const { drained } = await report;
    expect(drained).toEqual([expect.objectContaining({ id: 'conn-1', code: CloseCode.GoingAway, clean: true, messagesIn: 3, messagesOut: 3 })]);
  });

  it('does not hibernate a connection that keeps talking', async () => {
    // A message every 20 ms (or later, on a loaded machine), for about five heartbeat periods of 200 ms: no period is quiet.
    const { server, url } = await startServer({ ...HEARTBEAT, heartbeatInterval: 200 });
    const client = await connect(url);
    const got = collect(client);
    for (let i = 0; i < 50; i++) {
      client.send(`m${i}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(hibernated(server, 'conn-1')).toBe(false);
    }
    await until(() => got.length === 50, 'every echo');
    expect(actorOf(server, 'conn-1')).toBeDefined();
  });

  it('never hibernates with hibernate: false', async () => {
    const { server, url } = await startServer({ ...HEARTBEAT, hibernate: false });
    const client = await connect(url);
    let pings = 0;
    client.on('ping', () => pings++);
    await until(() => pings >= 4, 'four pings');
    expect(hibernated(server, 'conn-1')).toBe(false);
    expect(actorOf(server, 'conn-1')?.getSnapshot().value).toMatchObject({ open: { heartbeat: expect.any(String) } });
  });

  it('delivers topic messages to a hibernated subscriber without waking it, and resumes its subscriptions', async () => {
    const { server, url } = await startServer({ ...HEARTBEAT, protocol: 'topics' });
    const subscriber = await connect(url);
    const got = collect(subscriber);
    subscriber.send(JSON.stringify({ type: 'subscribe', topic: 'room', ref: 's' }));
    await until(() => got.length === 1, 'the subscribe reply');
    await until(() => hibernated(server, 'conn-1'), 'the subscriber hibernates');

    const publisher = await connect(url);
    const replies = collect(publisher);
    publisher.send(JSON.stringify({ type: 'subscribe', topic: 'room', ref: 'p1' }));
    publisher.send(JSON.stringify({ type: 'publish', topic: 'room', payload: 1, ref: 'p2' }));
    await until(() => got.length === 2, 'the published message');
    expect(JSON.parse(got[1])).toEqual({ type: 'message', topic: 'room', payload: 1 });
    expect(hibernated(server, 'conn-1')).toBe(true);

    // Woken by its own message, the protocol still knows it is subscribed: unsubscribing succeeds, and nothing more arrives.
    subscriber.send(JSON.stringify({ type: 'unsubscribe', topic: 'room', ref: 'u' }));
    await until(() => got.length === 3, 'the unsubscribe reply');
    expect(JSON.parse(got[2])).toEqual({ type: 'reply', ref: 'u', status: 'ok' });
    publisher.send(JSON.stringify({ type: 'publish', topic: 'room', payload: 2, ref: 'p3' }));
    await until(() => replies.length === 3, "the publisher's three replies");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(got).toHaveLength(3);
  });

  it('records the close of a client that leaves while its connection hibernates, with its counters, and makes no actor for it', async () => {
    const { server, url } = await startServer(HEARTBEAT);
    const outputs = outputsOf(server);
    const client = await connect(url);
    const echoed = received(client, 2);
    client.send('one');
    client.send('two');
    await echoed;
    await until(() => hibernated(server, 'conn-1'), 'the connection hibernates');
    const actorsBefore = outputs.get('conn-1')?.length;
    client.close(1000, 'bye');
    await until(() => server.connections.size === 0, 'the connection ends');
    expect(server.connections.size).toBe(0);
    // No actor woke to end: its last output is still its hibernation.
    expect(outputs.get('conn-1')).toHaveLength(actorsBefore!);
    expect(outputs.get('conn-1')!.at(-1)).toMatchObject({ hibernated: true });
    const metrics = await server.metrics!.metrics();
    expect(metrics).toMatch(/^statewire_connections_closed_total\{code="1000"\} 1$/m);
    expect(metrics).toMatch(/^statewire_messages_in_total 2$/m);
    expect(metrics).toMatch(/^statewire_messages_out_total 2$/m);
  });

  it('lets go of connections that end while they hibernate, long before their next heartbeat', async () => {
    // Connections to echo open asleep: each waits on the sleep clock for a heartbeat a minute away.
    const { server, url } = await startServer({ heartbeatInterval: 60_000 });
    const clients: WebSocket[] = [];
    for (let i = 0; i < 5; i++) clients.push(await connect(url));
    await until(() => server.connections.size === 5 && [...server.connections.keys()].every((id) => hibernated(server, id)), 'all five hibernate');
    const refs = [...server.connections.values()].map((connection) => new WeakRef(connection));
    for (const client of clients) client.close(1000);
    await until(() => server.connections.size === 0, 'the connections end');
    expect(await stillReachable(refs)).toBe(0);
  });

  it('terminates a hibernated connection whose client stops answering pings', async () => {
    const { server, url } = await startServer(HEARTBEAT);
    const outputs = outputsOf(server);
    const client = await connect(url, { autoPong: false });
    let answering = true;
    client.on('ping', () => answering && client.pong());
    await until(() => hibernated(server, 'conn-1'), 'the connection hibernates');
    answering = false;
    expect((await closed(client)).code).toBe(1006);
    await until(() => server.connections.size === 0, 'the connection ends');
    expect(outputs.get('conn-1')?.at(-1)).toMatchObject({ code: CloseCode.HeartbeatTimeout, clean: false });
  });

  it('wakes to refuse bad input as an awake connection does: an error frame for bad json, 1003 for a binary frame', async () => {
    const { server, url } = await startServer({ ...HEARTBEAT, protocol: 'topics' });
    const outputs = outputsOf(server);
    const client = await connect(url);
    const got = collect(client);
    await until(() => hibernated(server, 'conn-1'), 'the connection hibernates');
    client.send('{not json');
    await until(() => got.length === 1, 'the error frame');
    expect(JSON.parse(got[0])).toMatchObject({ type: 'error', code: 'bad_json' });
    await until(() => hibernated(server, 'conn-1'), 'the connection hibernates again');
    const done = closed(client);
    client.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await done).code).toBe(CloseCode.UnsupportedData);
    await until(() => server.connections.size === 0, 'the connection ends');
    expect(outputs.get('conn-1')?.at(-1)).toMatchObject({ code: CloseCode.UnsupportedData, clean: true });
  });

  it('keeps pinging a hibernated connection on time', async () => {
    const { server, url } = await startServer({ heartbeatInterval: 300, pongTimeout: 200 });
    const client = await connect(url);
    const pings: number[] = [];
    client.on('ping', () => pings.push(Date.now()));
    await until(() => hibernated(server, 'conn-1'), 'the connection hibernates');
    const from = pings.length;
    await until(() => pings.length >= from + 4, 'four pings while hibernated');
    const gaps = pings.slice(from).map((at, i, all) => (i === 0 ? null : at - all[i - 1])).filter((gap): gap is number => gap !== null);
    // Timers fire late, never early; the bound above allows a loaded machine to be late, but not a second period.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(295);
    for (const gap of gaps) expect(gap).toBeLessThan(600);
    expect(hibernated(server, 'conn-1')).toBe(true);
  });

  it('drains hibernated connections with 1001 and reports each', async () => {
    const { server, url } = await startServer(HEARTBEAT);
    const clients: WebSocket[] = [];
    for (let i = 0; i < 5; i++) clients.push(await connect(url));
    await until(() => [...server.connections.keys()].every((id) => hibernated(server, id)), 'all five hibernate');
    const codes = clients.map((client) => closed(client));
    const report = await server.close();
    expect((await Promise.all(codes)).map((c) => c.code)).toEqual(Array(5).fill(CloseCode.GoingAway));
    expect(report.drained.map((r) => [r.id, r.code, r.clean]).sort()).toEqual(
      ['conn-1', 'conn-2', 'conn-3', 'conn-4', 'conn-5'].map((id) => [id, CloseCode.GoingAway, true]),
    );
  });
});
