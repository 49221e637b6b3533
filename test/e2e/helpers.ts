import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { WebSocket, type ClientOptions } from 'ws';

/** The repository root: where `bin/statewire.js` and `package.json` live. */
export const REPO_ROOT = resolve(__dirname, '..', '..');
/** The CLI entry point. It loads `dist/`: build first (`npm test` does); these helpers build nothing. */
export const BIN = resolve(REPO_ROOT, 'bin', 'statewire.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned process whose output is collected as it arrives. */
export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles once the process has exited and its output streams have closed. */
  exited: Promise<Exit>;
  /** Whether the process (and, for a group leader, its group) is to be killed as a group. */
  group: boolean;
}

/** A running `statewire serve`. */
export interface Cli extends Spawned {
  /** The `ws://` URL from the listening line, with the real port. */
  url: string;
  port: number;
}

const LISTENING = /^statewire listening on (ws:\/\/\S+)$/m;

/** Processes not yet known to be gone; group leaders stay until `killLeftovers`, since their group may outlive them. */
const live = new Set<Spawned>();
const clients = new Set<WebSocket>();

function outputOf(proc: Spawned): string {
  return `\n--- stdout:\n${proc.stdout()}\n--- stderr:\n${proc.stderr()}`;
}

/** Rejects with a message naming `what` if `promise` has not settled within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const described = typeof what === 'string' ? what : what();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${described}`));
    }, timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Spawns a process with piped output and remembers it until it exits, so
 * `killLeftovers` can end it if a test fails halfway. With `detached: true`
 * the child leads a new process group, and the group is what gets killed.
 */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(command, [...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const spawned: Spawned = {
    child,
    stdout: () => out,
    stderr: () => err,
    group: options.detached === true,
    exited: new Promise<Exit>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolveExit({ code, signal }));
    }),
  };
  live.add(spawned);
  if (!spawned.group) {
    spawned.exited.then(
      () => live.delete(spawned),
      () => live.delete(spawned),
    );
  }
  return spawned;
}

/**
 * Resolves with the output once it matches `expected`; rejects if the process
 * exits first or `timeoutMs` passes. Reads stdout unless `stream` says otherwise.
 */
export function waitForOutput(
  proc: Spawned,
  expected: string | RegExp,
  timeoutMs: number,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<string> {
  const read = stream === 'stdout' ? proc.stdout : proc.stderr;
  const matches = (): boolean => (typeof expected === 'string' ? read().includes(expected) : expected.test(read()));
  const source = stream === 'stdout' ? proc.child.stdout : proc.child.stderr;
  let cleanup = (): void => undefined;
  const found = new Promise<string>((resolveFound, reject) => {
    const check = (): void => {
      if (matches()) resolveFound(read());
    };
    const onExit = (): void => {
      if (matches()) return resolveFound(read());
      reject(new Error(`process exited before printing ${String(expected)} on ${stream}${outputOf(proc)}`));
    };
    // Our own 'data' listener runs after the collector registered in spawnProcess.
    source?.on('data', check);
    proc.child.once('close', onExit);
    cleanup = () => {
      source?.off('data', check);
      proc.child.off('close', onExit);
    };
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) onExit();
    else check();
  });
  return withTimeout(found, timeoutMs, () => `${String(expected)} on ${stream}${outputOf(proc)}`).finally(cleanup);
}

/** Waits, bounded, for the process to exit. */
export function waitForExit(proc: Spawned, timeoutMs: number): Promise<Exit> {
  return withTimeout(proc.exited, timeoutMs, () => `exit${outputOf(proc)}`);
}

/**
 * Starts `statewire serve --port 0 ...args` and waits (at most `timeoutMs`)
 * for its listening line.
 *
 * @example
 * const cli = await startCli(['--drain-timeout', '3000']);
 * cli.child.kill('SIGINT');
 */
export async function startCli(args: readonly string[], timeoutMs = 10_000): Promise<Cli> {
  const proc = spawnProcess(process.execPath, [BIN, 'serve', '--port', '0', ...args]);
  const stdout = await waitForOutput(proc, LISTENING, timeoutMs);
  const url = LISTENING.exec(stdout)![1];
  return { ...proc, url, port: Number(new URL(url).port) };
}

/** Runs the CLI to completion (bounded) with exactly `args`, for flags and help. */
export async function runCli(args: readonly string[], timeoutMs = 10_000): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnProcess(process.execPath, [BIN, ...args]);
  const exit = await waitForExit(proc, timeoutMs);
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** GETs `path` from the server at `port`; resolves with the status code. */
export function httpStatus(port: number, path: string, timeoutMs = 5_000): Promise<number> {
  const status = new Promise<number>((resolveStatus, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  return withTimeout(status, timeoutMs, `GET ${path}`);
}

/** A `ws` client; `closed` settles when the connection closes, however it ends. */
export interface Client {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a WebSocket client (bounded); `cleanUp` terminates it if the test leaves it open. */
export function connect(url: string, timeoutMs = 5_000, options: ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, options);
  clients.add(ws);
  const closed = new Promise<{ code: number; reason: string }>((resolveClosed) => {
    ws.once('close', (code, reason) => {
      clients.delete(ws);
      resolveClosed({ code, reason: reason.toString() });
    });
  });
  const opened = new Promise<Client>((resolveOpen, reject) => {
    ws.once('open', () => resolveOpen({ ws, closed }));
    ws.on('error', reject);
  });
  return withTimeout(opened, timeoutMs, `a WebSocket connection to ${url}`);
}

/**
 * Opens a client that never reads the server's close frame: its TCP socket is
 * paused right after the handshake, so the server's close handshake cannot
 * finish and the connection stays open until the server terminates it.
 */
export async function connectUnresponsive(url: string, timeoutMs = 5_000): Promise<Client> {
  const client = await connect(url, timeoutMs);
  (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return client;
}

/** The next text message on `ws` (bounded). */
export function nextMessage(ws: WebSocket, timeoutMs = 5_000): Promise<string> {
  const message = new Promise<string>((resolveMessage, reject) => {
    ws.once('message', (data: Buffer) => resolveMessage(data.toString()));
    ws.once('close', (code) => reject(new Error(`closed with ${code} before a message arrived`)));
  });
  return withTimeout(message, timeoutMs, 'a WebSocket message');
}

/** Attempts a WebSocket upgrade expected to be refused; resolves with the HTTP status of the refusal. */
export function refusedUpgradeStatus(url: string, timeoutMs = 5_000): Promise<number> {
  const ws = new WebSocket(url);
  clients.add(ws);
  const status = new Promise<number>((resolveStatus, reject) => {
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      clients.delete(ws);
      resolveStatus(res.statusCode ?? 0);
    });
    ws.once('open', () => reject(new Error(`the upgrade to ${url} was accepted`)));
    ws.on('error', reject);
  });
  return withTimeout(status, timeoutMs, `the answer to an upgrade to ${url}`);
}

/**
 * Ends whatever a test left behind: terminates open WebSocket clients, kills
 * spawned processes (SIGKILL; the whole group for detached ones) and waits for
 * them to go. Call it from `afterEach`.
 */
export async function cleanUp(): Promise<void> {
  for (const ws of clients) ws.terminate();
  clients.clear();
  const left = [...live];
  live.clear();
  for (const proc of left) {
    const pid = proc.child.pid;
    if (pid === undefined) continue;
    try {
      if (proc.group) process.kill(-pid, 'SIGKILL');
      else proc.child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await Promise.all(left.map((proc) => withTimeout(proc.exited, 5_000, 'a killed process').catch(() => undefined)));
}
