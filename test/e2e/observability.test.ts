import { cleanUp, connect, httpStatus, nextMessage, runCli, startCli, waitForExit, waitForOutput } from './helpers';

afterEach(cleanUp);

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const INFO = 30;
const DEBUG = 20;

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('statewire serve: logs, metrics and the inspector', () => {
  it('logs the lifecycle at info, and nothing per message', async () => {
    const cli = await startCli(['--log-level', 'info']);
    const client = await connect(cli.url);
    client.ws.send('hello');
    expect(await nextMessage(client.ws)).toBe('Echo: hello');
    client.ws.close(1000);
    await client.closed;
    await waitForOutput(cli, /"msg":"connection closed"/, 5_000, 'stderr');
    cli.child.kill('SIGINT');
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });

    const lines = logLines(cli.stderr());
    expect(lines.map((l) => l.msg)).toEqual(['listening', 'connection opened', 'connection closed', 'drain started', 'drain finished']);
    expect(lines.every((l) => l.level === INFO)).toBe(true);
    expect(lines[0]).toMatchObject({ url: cli.url, metrics: true, inspector: false });
    expect(lines[2]).toMatchObject({ connection: 'conn-1', code: 1000, clean: true });
    expect(lines[4]).toMatchObject({ closed: 0, terminated: 0, forced: false });
  });

  it('logs each received message at debug', async () => {
    const cli = await startCli(['--log-level', 'debug']);
    const client = await connect(cli.url);
    client.ws.send('traced');
    await nextMessage(client.ws);
    cli.child.kill('SIGINT');
    await waitForExit(cli, 5_000);

    expect(logLines(cli.stderr())).toContainEqual(expect.objectContaining({ level: DEBUG, msg: 'message received', connection: 'conn-1', text: 'traced' }));
  });

  it('serves /metrics by default and not with --no-metrics', async () => {
    const withMetrics = await startCli([]);
    const without = await startCli(['--no-metrics']);

    expect(await httpStatus(withMetrics.port, '/metrics')).toBe(200);
    expect(await httpStatus(without.port, '/metrics')).toBe(404);
  });

  it('serves the inspector with --inspector and prints where', async () => {
    const cli = await startCli(['--inspector']);
    const line = new RegExp(`^statewire inspector on http://127\\.0\\.0\\.1:${cli.port}/inspect$`, 'm');

    await waitForOutput(cli, line, 5_000);
    expect(await httpStatus(cli.port, '/inspect')).toBe(200);
  });

  it('requires --inspector-token TOKEN once given', async () => {
    const cli = await startCli(['--inspector', '--inspector-token', 'let-me-in']);

    expect(await httpStatus(cli.port, '/inspect')).toBe(403);
    expect(await httpStatus(cli.port, '/inspect?token=let-me-in')).toBe(200);
  });

  it('refuses --inspector-token without --inspector', async () => {
    const result = await runCli(['serve', '--inspector-token', 'x']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--inspector-token needs the inspector turned on/);
  });
});
