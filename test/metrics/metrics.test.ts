import { cleanup, closed, connect, received, startServer, upgradeStatus } from '../integration/helpers';
import { ended, httpGet } from '../inspect/helpers';

afterEach(cleanup);

/** The value of one sample in Prometheus text format, e.g. `value(text, 'x_total', { code: '1000' })`; undefined if absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const got = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === wanted) return Number(match[3]);
  }
  return undefined;
}

async function scrape(port: number): Promise<string> {
  const response = await httpGet(port, '/metrics');
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body;
}

describe('GET /metrics', () => {
  it('counts connections, messages, bytes, close codes and refused handshakes after real traffic', async () => {
    const { server, port, url } = await startServer();
    const a = await connect(url);
    const b = await connect(url);
    for (const text of ['one', 'two', 'three']) a.send(text);
    b.send('four');
    await received(a, 3);
    await received(b, 1);
    a.close(1000);
    await closed(a);
    await ended(server, 'conn-1');
    expect(await upgradeStatus(url.replace(/\/ws$/, '/nope'))).toBe(404);

    const text = await scrape(port);

    expect(value(text, 'statewire_connections', { state: 'open' })).toBe(1);
    expect(value(text, 'statewire_connections', { state: 'closing' })).toBe(0);
    expect(value(text, 'statewire_connections_opened_total')).toBe(2);
    expect(value(text, 'statewire_connections_closed_total', { code: '1000' })).toBe(1);
    expect(value(text, 'statewire_messages_in_total')).toBe(4);
    expect(value(text, 'statewire_bytes_in_total')).toBe('onetwothreefour'.length);
    expect(value(text, 'statewire_messages_out_total')).toBe(4);
    expect(value(text, 'statewire_bytes_out_total')).toBe('onetwothreefour'.length + 4 * 'Echo: '.length);
    expect(value(text, 'statewire_outbox_dropped_total', { reason: 'drop-newest' })).toBe(0);
    expect(value(text, 'statewire_outbox_queued_bytes')).toBe(0);
    expect(value(text, 'statewire_protocol_restarts_total')).toBe(0);
    expect(value(text, 'statewire_handshake_rejections_total', { status: '404' })).toBe(1);
    expect(value(text, 'statewire_drain_duration_seconds')).toBe(0);
  });

  it('counts messages dropped by a slow-consumer policy, by policy', async () => {
    const { server, port, url } = await startServer({ outboxLimit: 1024 });
    await connect(url);
    // Everything broadcast in one turn meets the limit before the first write.
    for (let i = 0; i < 10; i++) server.broadcast('x'.repeat(300), { volatile: true });

    const text = await scrape(port);

    const dropped = value(text, 'statewire_outbox_dropped_total', { reason: 'drop-newest' });
    expect(dropped).toBeGreaterThan(0);
    expect(dropped! + value(text, 'statewire_messages_out_total')!).toBe(10);
  });

  it('counts upgrades refused while draining, the closes of the drain and how long it took', async () => {
    const { server, port, url } = await startServer({ drainTimeout: 1_000 });
    const client = await connect(url);
    // A client that never answers the close frame holds the drain until its deadline.
    (client as unknown as { _socket: { pause(): void } })._socket.pause();

    const closing = server.close();
    const refused = await upgradeStatus(url);
    const during = await scrape(port);
    const report = await closing;
    const after = await server.metrics!.metrics();

    expect(refused).toBe(503);
    expect(value(during, 'statewire_handshake_rejections_total', { status: '503' })).toBe(1);
    expect(value(during, 'statewire_connections', { state: 'closing' })).toBe(1);
    expect(report.drained.map((r) => r.code)).toEqual([4002]);
    expect(value(after, 'statewire_connections_closed_total', { code: '4002' })).toBe(1);
    const drain = value(after, 'statewire_drain_duration_seconds')!;
    expect(drain).toBeGreaterThanOrEqual(1);
    expect(drain).toBeLessThan(report.drainMs / 1000 + 0.05);
  });

  it('counts a hibernated connection in state hibernated, not open', async () => {
    const { server, port, url } = await startServer({ heartbeatInterval: 50, pongTimeout: 1_000 });
    await connect(url);
    // Quiet from the start, the connection hibernates at its first pong: its actor ends, its socket stays.
    await ended(server, 'conn-1');
    expect(server.connections.get('conn-1')?.hibernated).toBe(true);

    const text = await scrape(port);

    expect(value(text, 'statewire_connections', { state: 'hibernated' })).toBe(1);
    expect(value(text, 'statewire_connections', { state: 'open' })).toBe(0);
    expect(value(text, 'statewire_connections_closed_total', { code: '1000' })).toBeUndefined();
  });

  it('keeps each server’s metrics in its own registry', async () => {
    const first = await startServer();
    const second = await startServer();
    await connect(first.url);

    expect(value(await scrape(first.port), 'statewire_connections_opened_total')).toBe(1);
    expect(value(await scrape(second.port), 'statewire_connections_opened_total')).toBe(0);
  });

  it('is not served with metrics: false', async () => {
    const { server, port } = await startServer({ metrics: false });

    expect((await httpGet(port, '/metrics')).status).toBe(404);
    expect(server.metrics).toBeNull();
  });
});
