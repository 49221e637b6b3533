import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import type { ShutdownReport } from '../../src/server';

const CLIENTS = 200;
const MESSAGES = 50;
const RUNS = 20;
const SERVER = path.join(__dirname, '..', 'fixtures', 'push-server.js');

interface ClientOutcome {
  sent: number;
  echoes: string[];
  pushes: number;
  close: number;
}

/** One run: a server process, CLIENTS clients each sending MESSAGES messages while the server pushes, SIGTERM after `delayMs`. */
async function run(delayMs: number): Promise<{ report: ShutdownReport; outcomes: ClientOutcome[] }> {
  const reportFile = path.join(mkdtempSync(path.join(tmpdir(), 'statewire-')), 'report.json');
  const child = spawn(process.execPath, [SERVER, reportFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', () => reject(new Error('server exited before listening')));
  });
  // Connected one after another, so client c is the server's conn-(c+1); each counts from its first byte.
  const clients: { ws: WebSocket; outcome: ClientOutcome; closed: Promise<ClientOutcome> }[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const outcome: ClientOutcome = { sent: 0, echoes: [], pushes: 0, close: 0 };
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('Echo: ')) outcome.echoes.push(text.slice(6));
      else outcome.pushes++;
    });
    const closed = new Promise<ClientOutcome>((resolve) => ws.once('close', (code) => resolve({ ...outcome, close: code })));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    clients.push({ ws, outcome, closed });
  }
  const outcomes = clients.map(({ ws, outcome, closed }, c) => {
    // Sent in bursts across turns, so the signal can land between, during and after them.
    let i = 0;
    const burst = (): void => {
      if (ws.readyState !== WebSocket.OPEN || i >= MESSAGES) return;
      for (let k = 0; k < 5 && i < MESSAGES; k++, outcome.sent++) ws.send(`${c}:${i++}`);
      setImmediate(burst);
    };
    burst();
    return closed;
  });
  setTimeout(() => child.kill('SIGTERM'), delayMs);
  const results = await Promise.all(outcomes);
  expect(await exited).toBe(0);
  return { report: JSON.parse(readFileSync(reportFile, 'utf8')), outcomes: results };
}

describe('lossless drain under SIGTERM', () => {
  it(`loses nothing in ${RUNS} seeded runs of ${CLIENTS} clients x ${MESSAGES} messages with pushes`, async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    process.stdout.write(`drain-loss seed: ${seed} (replay with FC_SEED=${seed})\n`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 150 }), async (delayMs) => {
        const { report, outcomes } = await run(delayMs);
        expect(report.forced).toBe(false);
        expect(report.terminated).toBe(0);
        expect(report.drained).toHaveLength(CLIENTS);
        const records = new Map(report.drained.map((r) => [Number(r.id.slice('conn-'.length)) - 1, r]));
        let lost = 0;
        outcomes.forEach((outcome, c) => {
          const record = records.get(c)!;
          expect(outcome.close).toBe(1001);
          // In order, a prefix of what the client sent.
          expect(outcome.echoes).toEqual(Array.from({ length: outcome.echoes.length }, (_, i) => `${c}:${i}`));
          // Everything written before the close frame reached the client.
          expect(outcome.echoes.length + outcome.pushes).toBe(record.messagesOut);
          // Every message the server read was answered, or is reported undelivered.
          const undelivered = record.undelivered.socketClosed + record.dropped.close + record.dropped['drop-newest'] + record.dropped['drop-oldest'];
          lost += Math.max(0, record.messagesIn - outcome.echoes.length - undelivered);
          // These clients read everything and the deadline is far: the outbox flushes before the close frame.
          expect(record.undelivered.socketClosed).toBe(0);
          expect(record.messagesIn + record.undelivered.readAfterClose).toBeLessThanOrEqual(outcome.sent);
        });
        expect(lost).toBe(0);
      }),
      { numRuns: RUNS, seed },
    );
  }, 120_000);
});
