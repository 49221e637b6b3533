import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULTS, LOG_LEVELS, OVERFLOW_POLICIES, PROTOCOLS, resolveOptions, type ServerOptions } from './options';
import { StatewireError } from './protocol/errors';
import { createServer, type ShutdownReport } from './server';

export const USAGE = `Usage: statewire serve [options]
       statewire --help

Serves a WebSocket message protocol; every connection is an XState actor.

Options:
  --host HOST                interface to listen on (default ${DEFAULTS.host})
  --port PORT                TCP port, 0 picks a free one (default ${DEFAULTS.port})
  --path PATH                WebSocket upgrade path (default ${DEFAULTS.path})
  --protocol NAME            ${PROTOCOLS.join(' | ')} (default ${DEFAULTS.protocol})
  --max-payload BYTES        largest message; bigger closes with 1009 (default ${DEFAULTS.maxPayload})
  --heartbeat-interval MS    ping every MS (default ${DEFAULTS.heartbeatInterval})
  --pong-timeout MS          terminate a peer silent for MS after a ping (default ${DEFAULTS.pongTimeout})
  --no-hibernate             keep every idle connection's actor running (default: quiet connections hibernate)
  --close-timeout MS         terminate a peer that does not answer the close frame (default ${DEFAULTS.closeTimeout})
  --drain-timeout MS         graceful shutdown deadline (default ${DEFAULTS.drainTimeout})
  --max-topics N             topics one connection may hold (default ${DEFAULTS.maxTopics})
  --allow-origin ORIGIN      a browser origin allowed to connect (repeatable; default any)
  --outbox-limit BYTES       per-connection outbound bound, socket buffer included (default ${DEFAULTS.outboxLimit})
  --slow-consumer POLICY     past the bound: ${OVERFLOW_POLICIES.join(' | ')} (default ${DEFAULTS.slowConsumer})
  --shutdown-report FILE     write the shutdown report as JSON to FILE
  --log-level LEVEL          ${LOG_LEVELS.join(' | ')} (default ${DEFAULTS.logLevel})
  --inspector                serve the live inspector page at /inspect (default off)
  --inspector-token TOKEN    require TOKEN (/inspect?token=TOKEN); without it only loopback clients may open it
  --no-metrics               do not serve Prometheus metrics at /metrics (default on)
  -h, --help                 show this help

SIGINT or SIGTERM drains: open connections close with 1001 after their queued
messages, new upgrades get 503; a second signal forces exit.`;

/** A command-line mistake: printed as one line, exit status 2. */
class UsageError extends Error {}

const NUMERIC = {
  port: 'port',
  'max-payload': 'maxPayload',
  'heartbeat-interval': 'heartbeatInterval',
  'pong-timeout': 'pongTimeout',
  'close-timeout': 'closeTimeout',
  'drain-timeout': 'drainTimeout',
  'outbox-limit': 'outboxLimit',
  'max-topics': 'maxTopics',
} as const;

/** What the command line asks for. */
export interface CliOptions extends ServerOptions {
  /** Where to write the shutdown report as JSON. */
  shutdownReport?: string;
}

/** Parses `statewire` arguments into server options, or `'help'`. Throws UsageError. */
export function parseCli(argv: readonly string[]): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        host: { type: 'string' },
        port: { type: 'string' },
        path: { type: 'string' },
        protocol: { type: 'string' },
        'max-payload': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        'pong-timeout': { type: 'string' },
        'close-timeout': { type: 'string' },
        'drain-timeout': { type: 'string' },
        'outbox-limit': { type: 'string' },
        'max-topics': { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        'slow-consumer': { type: 'string' },
        'shutdown-report': { type: 'string' },
        'log-level': { type: 'string' },
        inspector: { type: 'boolean' },
        'inspector-token': { type: 'string' },
        'no-metrics': { type: 'boolean' },
        'no-hibernate': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...extra] = positionals;
  if (command !== 'serve') throw new UsageError(command === undefined ? 'missing command: serve' : `unknown command: ${command}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);

  const options: CliOptions = { handleSignals: true };
  for (const [flag, key] of Object.entries(NUMERIC) as [keyof typeof NUMERIC, (typeof NUMERIC)[keyof typeof NUMERIC]][]) {
    const raw = values[flag];
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw)) throw new UsageError(`--${flag} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    options[key] = Number(raw);
  }
  if (values.host !== undefined) options.host = values.host;
  if (values.path !== undefined) options.path = values.path;
  if (values.protocol !== undefined) options.protocol = values.protocol as ServerOptions['protocol'];
  if (values['log-level'] !== undefined) options.logLevel = values['log-level'] as ServerOptions['logLevel'];
  if (values['allow-origin'] !== undefined) options.allowOrigins = values['allow-origin'];
  if (values['slow-consumer'] !== undefined) options.slowConsumer = values['slow-consumer'] as ServerOptions['slowConsumer'];
  if (values['shutdown-report'] !== undefined) options.shutdownReport = values['shutdown-report'];
  if (values.inspector) options.inspector = true;
  if (values['inspector-token'] !== undefined) options.inspectorToken = values['inspector-token'];
  if (values['no-metrics']) options.metrics = false;
  if (values['no-hibernate']) options.hibernate = false;
  try {
    const { shutdownReport: _file, ...serverOptions } = options;
    resolveOptions(serverOptions);
  } catch (error) {
    if (error instanceof StatewireError) throw new UsageError(error.message.replace(/^(\w+)/, (name) => `--${kebab(name)}`));
    throw error;
  }
  return options;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The one line the CLI prints when the server has stopped. */
export function summaryLine(report: ShutdownReport): string {
  const closed = report.drained.length;
  const byCode = new Map<number, number>();
  for (const record of report.drained) byCode.set(record.code, (byCode.get(record.code) ?? 0) + 1);
  const codes = [...byCode].map(([code, n]) => `${n}x${code}`).join(', ');
  const { messagesOut, undelivered, dropped } = report.totals;
  return (
    `statewire stopped: ${closed} connection${closed === 1 ? '' : 's'} closed${codes ? ` (${codes})` : ''}, ` +
    `${report.terminated} terminated, ${messagesOut} messages written, ${undelivered} undelivered, ${dropped} dropped, ` +
    `drained in ${report.drainMs} ms`
  );
}

/** Runs the CLI; resolves with the process exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`statewire: ${error.message} (see statewire --help)\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const { shutdownReport, ...serverOptions } = options;
  const server = createServer(serverOptions);
  let closing: Promise<ShutdownReport> | null = null;
  const stopped = new Promise<ShutdownReport>((resolve, reject) => {
    server.actor.subscribe((snapshot) => {
      if (closing === null && (snapshot.matches('draining') || snapshot.status === 'done')) {
        // A signal before the server listens stops the supervisor at once, without a drain: nothing to announce.
        if (snapshot.context.address !== null) process.stdout.write('shutting down\n');
        closing = server.close();
        closing.then(resolve, reject);
      }
    });
  });
  try {
    const address = await server.listen();
    process.stdout.write(`statewire listening on ${address.url}\n`);
    if (serverOptions.inspector) process.stdout.write(`statewire inspector on ${new URL('/inspect', address.url.replace(/^ws/, 'http')).href}\n`);
  } catch (error) {
    process.stderr.write(`statewire: ${(error as Error).message}\n`);
    return 1;
  }
  const report = await stopped;
  if (shutdownReport !== undefined) writeFileSync(shutdownReport, `${JSON.stringify(report, null, 2)}\n`);
  if (report.forced) {
    process.stdout.write(`statewire: forced exit by a second signal during the drain; ${report.terminated} connection(s) terminated\n`);
    return 1;
  }
  process.stdout.write(`${summaryLine(report)}\n`);
  return 0;
}
