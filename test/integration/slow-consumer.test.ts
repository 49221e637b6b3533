import type { WebSocket } from 'ws';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { CloseCode } from '../../src/protocol/close-codes';
import type { CloseRecord } from '../../src/protocol/events';
import type { Server } from '../../src/server';
import { cleanup, closed, connect, startServer } from './helpers';

afterEach(cleanup);

const KIB64 = 'x'.repeat(64 * 1024);

/** Stops reading: the client's socket no longer drains the kernel buffer, so the server's writes back up. */
function stopReading(client: WebSocket): void {
  (client as unknown as { _socket: { pause(): void } })._socket.pause();
}
function resumeReading(client: WebSocket): void {
  (client as unknown as { _socket: { resume(): void } })._socket.resume();
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Pushes 64 KiB messages into one connection's outbox as fast as the event loop allows, until `until()` or `max` pushes. */
async function flood(server: Server, id: string, until: () => boolean, max = 20_000, onTurn?: () => void, message = KIB64): Promise<number> {
  let pushed = 0;
  while (pushed < max && !until()) {
    const connection = server.connections.get(id);
    if (connection === undefined) break;
    for (let k = 0; k < 8; k++, pushed++) connection.outbox.push(message);
    onTurn?.();
    await turn();
  }
  return pushed;
}

function connectionState(server: Server, id: string) {
  return (server.actor.system.get(id) as { getSnapshot(): { value: unknown } } | undefined)?.getSnapshot().value;
}

/** Collects the close records (machine outputs) of connections as they end. */
function recordsOf(server: Server): Map<string, CloseRecord> {
  const records = new Map<string, CloseRecord>();
  server.actor.system.inspect({
    next: (event: InspectionEvent) => {
      const id = (event.actorRef as AnyActorRef).id;
      if (event.type !== '@xstate.snapshot' || !id.startsWith('conn-')) return;
      const snapshot = event.snapshot as { status: string; output?: CloseRecord };
      if (snapshot.status === 'done') records.set(id, snapshot.output!);
    },
  });
  return records;
}

describe('slow consumers', () => {
  it('closes a client that stops reading with 4003 within a second of passing the bound, while 100 healthy clients get every message', async () => {
    const limit = 1024 * 1024;
    const { server, url } = await startServer({ outboxLimit: limit, closeTimeout: 300 });
    const records = recordsOf(server);
    const slow = await connect(url);
    const healthy = await Promise.all(Array.from({ length: 100 }, () => connect(url)));
    const got = healthy.map((client) => {
      const messages: string[] = [];
      client.on('message', (data) => messages.push(data.toString()));
      return messages;
    });
    stopReading(slow);
    const rssBefore = process.memoryUsage().rss;

    let maxBacklog = 0;
    let crossedAt: number | null = null;
    let closingAt: number | null = null;
    let broadcasts = 0;
    const deadline = Date.now() + 10_000;
    await flood(server, 'conn-1', () => Date.now() > deadline, 100_000, () => {
      const connection = server.connections.get('conn-1')!;
      maxBacklog = Math.max(maxBacklog, connection.outbox.backlog);
      if (crossedAt === null && connection.outbox.backlog > limit) crossedAt = Date.now();
      if (closingAt === null && connectionState(server, 'conn-1') === 'closing') closingAt = Date.now();
      server.broadcast(`tick:${broadcasts++}`);
    });

    expect(maxBacklog).toBeLessThanOrEqual(limit + KIB64.length);
    expect(crossedAt).not.toBeNull();
    expect(closingAt).not.toBeNull();
    expect(closingAt! - crossedAt!).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    // Its close frame cannot reach a client that does not read: it was terminated after closeTimeout, reported as a slow consumer.
    expect(records.get('conn-1')).toMatchObject({ code: CloseCode.SlowConsumer, clean: false });
    const record = records.get('conn-1')!;
    expect(record.dropped.close).toBeGreaterThan(0);
    expect(record.enqueued).toBe(record.messagesOut + record.dropped.close + record.undelivered.socketClosed);

    const expected = Array.from({ length: broadcasts }, (_, i) => `tick:${i}`);
    while (got.some((messages) => messages.length < broadcasts)) await new Promise((resolve) => setTimeout(resolve, 10));
    got.forEach((messages) => expect(messages).toEqual(expected));

    const report = await server.close();
    expect(report.drained).toHaveLength(100);
    expect(report.drained.every((r) => r.code === 1001 && r.messagesOut === broadcasts)).toBe(true);
  });

  it.each(['drop-newest', 'drop-oldest'] as const)('keeps a slow client open under %s, dropping within the bound and delivering in order once it reads again', async (policy) => {
    const { server, url } = await startServer({ outboxLimit: 256 * 1024, slowConsumer: policy });
    const slow = await connect(url);
    stopReading(slow);
    let n = 0;
    const live = () => server.connections.get('conn-1')!;
    while (live().outbox.stats.dropped[policy] === 0 && n < 20_000) {
      for (let k = 0; k < 8; k++) live().outbox.push(`${n++}:${KIB64}`);
      await turn();
    }
    expect(live().outbox.stats.dropped[policy]).toBeGreaterThan(0);
    expect(live().outbox.backlog).toBeLessThanOrEqual(256 * 1024 + KIB64.length + 16);

    const received: number[] = [];
    slow.on('message', (data) => received.push(Number(data.toString().split(':', 1)[0])));
    resumeReading(slow);
    live().outbox.push(`${n}:last`);
    while (received.at(-1) !== n) await new Promise((resolve) => setTimeout(resolve, 10));
    const sorted = [...received].sort((a, b) => a - b);
    expect(received).toEqual(sorted);
    const { stats } = live().outbox;
    expect(received.length + stats.dropped[policy]).toBe(n + 1);
    expect(slow.readyState).toBe(slow.OPEN);
  });

  it('shows congestion in the machine, writes heartbeat pings ahead of the data it holds back, and still sends the close frame after the backlog', async () => {
    const PONG = 1000;
    // The first ping comes well after the outbox starts holding back (a few ms of flooding), and only one comes before the pong.
    const { server, url } = await startServer({ outboxLimit: 512 * 1024, slowConsumer: 'drop-newest', heartbeatInterval: 300, pongTimeout: PONG });
    const slow = await connect(url);
    stopReading(slow);
    const heartbeat = () => (connectionState(server, 'conn-1') as { open?: { heartbeat?: string } } | undefined)?.open?.heartbeat;
    const live = () => server.connections.get('conn-1')!;
    // Small messages, so the socket's buffer fills gradually and the outbox starts holding data back before the limit.
    const KIB = 'y'.repeat(1024);
    // Flood until the outbox holds data back, then wait for the next heartbeat ping.
    await flood(server, 'conn-1', () => live().outbox.queuedMessages > 0 && heartbeat() === 'idle', 100_000, undefined, KIB);
    expect(connectionState(server, 'conn-1')).toMatchObject({ open: { flow: 'congested' } });
    // The client stays paused, so what the outbox holds back stays held back until the ping goes out.
    const pingDeadline = Date.now() + 2000;
    while (heartbeat() !== 'awaitingPong' && Date.now() < pingDeadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(heartbeat()).toBe('awaitingPong');
    const heldBackAtPing = live().outbox.queuedMessages;
    expect(heldBackAtPing).toBeGreaterThan(0);

    const order: ('ping' | 'data')[] = [];
    slow.on('message', () => order.push('data'));
    const pinged = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the ping never arrived')), PONG);
      slow.on('ping', () => {
        order.push('ping');
        clearTimeout(timer);
        resolve();
      });
    });
    resumeReading(slow);
    await pinged;
    // The client's pong comes back within the deadline: the heartbeat is idle again, the peer was not reaped.
    const deadline = Date.now() + PONG;
    while (heartbeat() !== 'idle' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heartbeat()).toBe('idle');

    const done = closed(slow);
    const report = server.close();
    expect(await done).toEqual({ code: 1001, reason: 'server shutting down' });
    const [record] = (await report).drained;
    expect(record).toMatchObject({ code: 1001, clean: true });
    // Every message written reached the client before the close frame...
    expect(order.filter((frame) => frame === 'data')).toHaveLength(record.messagesOut);
    expect(record.undelivered.socketClosed).toBe(0);
    // ...and the ping went out ahead of everything the outbox was holding back when it was sent.
    const dataAfterPing = order.length - order.indexOf('ping') - 1;
    expect(dataAfterPing).toBeGreaterThanOrEqual(heldBackAtPing);
  });
});
