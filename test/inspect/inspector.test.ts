import { connectionMachine } from '../../machines/connection.machine';
import type { ActorView, ClosedView, CountersView, InspectorEvent } from '../../src/inspect/hub';
import { cleanup, closed, connect, received, startServer, upgradeStatus } from '../integration/helpers';
import { ended, httpGet, openInspector } from './helpers';

afterEach(cleanup);

const isSnapshot = (id: string, top: string) => (e: InspectorEvent): e is ActorView =>
  e.type === 'snapshot' && e.id === id && (e.value === top || (typeof e.value === 'object' && e.value !== null && top in e.value));
const isClosed = (id: string) => (e: InspectorEvent): e is ClosedView => e.type === 'closed' && e.id === id;
const countersOf = (id: string, minIn: number) => (e: InspectorEvent): e is CountersView =>
  e.type === 'counters' && (e.connections[id]?.[0] ?? -1) >= minIn;

async function startInspected(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer({ inspector: true, ...options });
  return { ...started, base: `http://127.0.0.1:${started.port}`, wsBase: `ws://127.0.0.1:${started.port}` };
}

describe('the inspector', () => {
  describe('GET /inspect', () => {
    it('is not served unless the inspector is on', async () => {
      const { port, url } = await startServer();

      expect((await httpGet(port, '/inspect')).status).toBe(404);
      expect(await upgradeStatus(url.replace(/\/ws$/, '/inspect/ws'))).toBe(404);
    });

    it('serves a self-contained page: no external resource, a strict content security policy', async () => {
      const { port } = await startInspected();

      const page = await httpGet(port, '/inspect');

      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('<title>statewire inspector</title>');
      expect(page.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
      expect(page.body).not.toMatch(/https?:\/\//);
      expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
    });
  });

  describe('/inspect/ws', () => {
    it('says hello with both machines, the supervisor and the open connections', async () => {
      const { url, wsBase } = await startInspected();
      await connect(url);

      const inspector = await openInspector(wsBase);

      expect(inspector.hello.machines.connection.states.map((s) => s.key)).toEqual(Object.keys(connectionMachine.root.states));
      expect(inspector.hello.machines.supervisor.states.map((s) => s.key)).toContain('draining');
      expect(inspector.hello.supervisor).toMatchObject({ id: 'supervisor', value: 'listening', status: 'active' });
      // The pool's counts, which the page shows with the supervisor.
      expect(inspector.hello.counters).toMatchObject({ open: 1, accepted: 1 });
      expect(inspector.hello.connections).toEqual([expect.objectContaining({ id: 'conn-1', status: 'active' })]);
      expect(inspector.hello.connections.filter(isSnapshot('conn-1', 'open'))).toHaveLength(1);
    });

    it('lists a hibernated connection in its hello, in state hibernated', async () => {
      const { server, url, wsBase } = await startInspected({ heartbeatInterval: 50, pongTimeout: 1_000 });
      await connect(url);
      // Quiet from the start, the connection hibernates at its first pong: its actor ends, its socket stays.
      await ended(server, 'conn-1');
      expect(server.actor.system.get('conn-1')).toBeUndefined();

      const inspector = await openInspector(wsBase);

      expect(inspector.hello.connections).toEqual([expect.objectContaining({ id: 'conn-1', value: 'hibernated', status: 'done' })]);
      expect(inspector.hello.closed).toEqual([]);
    });

    it('streams a connection opening, its counters moving and its close code', async () => {
      const { server, url, wsBase } = await startInspected();
      const inspector = await openInspector(wsBase);

      const client = await connect(url);
      await inspector.until(isSnapshot('conn-1', 'open'));
      // The supervisor takes no step per connection: the pool's counts come with the counters.
      await inspector.until((e): e is CountersView => e.type === 'counters' && e.open === 1 && e.accepted === 1);
      for (const text of ['a', 'bb', 'ccc']) client.send(text);
      await received(client, 3);
      const counters = await inspector.until(countersOf('conn-1', 3));
      client.close(1000, 'bye');
      await closed(client);
      await ended(server, 'conn-1');
      const record = await inspector.until(isClosed('conn-1'));

      // messagesIn, bytesIn, messagesOut, bytesOut, queued, dropped
      expect(counters.connections['conn-1']).toEqual([3, 6, 3, 3 * 'Echo: '.length + 6, 0, 0]);
      expect(record).toMatchObject({ code: 1000, reason: 'bye', clean: true, counters: [3, 6, 3, 24, 0, 0] });
      expect(await inspector.until(isSnapshot('conn-1', 'closed'))).toMatchObject({ status: 'done', event: 'socket.closed' });
    });

    it('lists recently closed connections to a page that connects later', async () => {
      const { server, url, wsBase } = await startInspected();
      const client = await connect(url);
      client.close(4100, 'done here');
      await closed(client);
      await ended(server, 'conn-1');

      const inspector = await openInspector(wsBase);

      expect(inspector.hello.connections).toEqual([]);
      expect(inspector.hello.closed).toEqual([expect.objectContaining({ id: 'conn-1', code: 4100, reason: 'done here' })]);
    });

    it('inspects only while a page is connected', async () => {
      const { server, url, wsBase } = await startInspected();
      const inspect = jest.spyOn(server.actor.system, 'inspect');
      const client = await connect(url);
      client.send('unwatched');
      await received(client, 1);
      expect(inspect).not.toHaveBeenCalled();

      const inspector = await openInspector(wsBase);
      expect(inspect).toHaveBeenCalledTimes(1);
      const subscription = inspect.mock.results[0].value as { unsubscribe(): void };
      const unsubscribe = jest.spyOn(subscription, 'unsubscribe');
      inspector.ws.close();
      await inspector.closed;
      await new Promise((resolve) => setImmediate(resolve));

      expect(unsubscribe).toHaveBeenCalledTimes(1);
    });

    it('sees the drain, then is closed with 1001 and lets the server release its port', async () => {
      const { server, url, wsBase } = await startInspected();
      await connect(url);
      const inspector = await openInspector(wsBase);

      const report = await server.close();

      expect(report.drained.map((r) => r.code)).toEqual([1001]);
      expect(await inspector.closed).toBe(1001);
      expect(inspector.events.some(isSnapshot('supervisor', 'draining'))).toBe(true);
      expect(inspector.events.find(isClosed('conn-1'))).toMatchObject({ code: 1001 });
      expect(inspector.events.filter((e) => e.type === 'snapshot' && e.id === 'supervisor').pop()).toMatchObject({ value: 'stopped', status: 'done' });
    });
  });

  describe('access', () => {
    it('refuses a cross-site page (another Origin) with 403 before the upgrade', async () => {
      const { wsBase, port } = await startInspected();

      expect(await upgradeStatus(`${wsBase}/inspect/ws`, { headers: { Origin: 'http://evil.example' } })).toBe(403);
      expect(await upgradeStatus(`${wsBase}/inspect/ws`, { headers: { Origin: `http://127.0.0.1:${port}` } })).toBe(101);
      expect((await httpGet(port, '/metrics')).body).toMatch(/^statewire_handshake_rejections_total\{status="403"\} 1$/m);
    });

    it('refuses a non-loopback Host (DNS rebinding) without a token', async () => {
      const { wsBase, port } = await startInspected();

      expect((await httpGet(port, '/inspect', { Host: 'rebound.example' })).status).toBe(403);
      expect(await upgradeStatus(`${wsBase}/inspect/ws`, { headers: { Host: 'rebound.example' } })).toBe(403);
    });

    it('requires the token when one is set, as ?token= or a bearer header', async () => {
      const { wsBase, port } = await startInspected({ inspectorToken: 's3cret' });

      expect((await httpGet(port, '/inspect')).status).toBe(403);
      expect((await httpGet(port, '/inspect?token=wrong')).status).toBe(403);
      expect((await httpGet(port, '/inspect?token=s3cret')).status).toBe(200);
      expect((await httpGet(port, '/inspect', { Authorization: 'Bearer s3cret' })).status).toBe(200);
      expect(await upgradeStatus(`${wsBase}/inspect/ws`, { headers: {} })).toBe(403);
      expect(await upgradeStatus(`${wsBase}/inspect/ws?token=s3cret`, { headers: {} })).toBe(101);
    });
  });
});
