import fc from 'fast-check';
import type { AnyActorRef, StateValue } from 'xstate';
import { builtinProtocols } from '../../src/protocols';
import type { ProtocolDefinition } from '../../src/protocols';
import { createTestConnection, type TestConnection } from '../../src/testing';
import { connectionSpec } from '../model/connection.model';
import { simplePaths } from '../model/harness';
import { client, step, type Step } from './arbitraries';

/**
 * Random inbound traffic against every protocol statewire ships, each inside
 * the real connection machine (statewire/testing): valid and invalid text,
 * edge and deeply nested JSON, any Unicode with lone surrogates, binary
 * frames and invalid UTF-8, interleaved in any order with time passing,
 * pongs, congestion, server shutdown and terminate, and client closes, so
 * that messages also arrive after the close.
 *
 * Replay a run with `FC_SEED=<seed>` (and `FC_PATH=<path>` for the shrunk counterexample).
 */
const seed = process.env.FC_SEED === undefined ? (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0 : Number(process.env.FC_SEED);
const path = process.env.FC_PATH;
/** At least 10,000 inbound batches per protocol per run: runs of 1-20 steps, about half of them batches. */
const RUNS = 4000;
const MIN_BATCHES = 10_000;

/** What a text protocol must send for a batch, when that is known independently of its machine. */
const TEXT_ORACLES: Partial<Record<string, (messages: readonly string[]) => string[]>> = {
  echo: (messages) => messages.map((text) => `Echo: ${text}`),
};
/** json protocols whose every request gets exactly one reply, correlated by its ref. */
const REPLY_PER_REQUEST = new Set(['topics']);
/** Bad json frames in a row the server tolerates with an error frame each; the next one closes with 1008. */
const TOLERANCE = 10;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/** Every state value the connection machine can be in, from its model (with and without authentication). */
const LEGAL = new Set(
  [{ authenticate: false }, { authenticate: true }, { authenticate: false, lazy: true }].flatMap((spec) =>
    simplePaths(connectionSpec(spec), new WeakMap()).flatMap((p) => p.steps.map((s) => JSON.stringify(s.state.value))),
  ),
);

/** The json codec's rule (issue 6), written independently of it: an object with a non-empty string `type`. */
function isValidJsonMessage(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && type !== '';
}

interface Frame {
  type?: unknown;
  code?: unknown;
  ref?: unknown;
}

const parse = (frame: string): Frame => {
  try {
    const value: unknown = JSON.parse(frame);
    return typeof value === 'object' && value !== null ? (value as Frame) : {};
  } catch {
    return {};
  }
};

/**
 * What a json protocol writes for the messages of one read while open: an
 * error frame per bad message, until the 11th bad one in a row closes with
 * 1008 (and the rest of the read is dropped); for protocols that reply to
 * every request, one reply per good message with its ref, in order.
 */
function checkJson(protocol: string, messages: readonly string[], fresh: string[], badRun: { n: number }, closedWith: number | undefined): void {
  const frames = fresh.map(parse);
  const errors = frames.filter((f) => f.type === 'error');
  const replies = frames.filter((f) => f.type === 'reply');
  let expectedErrors = 0;
  const expectedRefs: unknown[] = [];
  let closes = false;
  for (const text of messages) {
    if (isValidJsonMessage(text)) {
      badRun.n = 0;
      const ref = (JSON.parse(text) as { ref?: unknown }).ref;
      expectedRefs.push(typeof ref === 'string' || typeof ref === 'number' ? String(ref) : null);
    } else if (++badRun.n > TOLERANCE) {
      closes = true;
      break;
    } else {
      expectedErrors++;
    }
  }
  if (errors.length !== expectedErrors || errors.some((f) => f.code !== 'bad_json' && f.code !== 'bad_message')) {
    throw new Error(`expected ${expectedErrors} error frames, got ${JSON.stringify(fresh)}`);
  }
  if (closes !== (closedWith === 1008)) throw new Error(`expected ${closes ? 'a close with 1008' : 'no close'}, got ${String(closedWith)}`);
  if (REPLY_PER_REQUEST.has(protocol) && JSON.stringify(replies.map((r) => r.ref)) !== JSON.stringify(expectedRefs)) {
    throw new Error(`expected replies to ${JSON.stringify(expectedRefs)}, got ${JSON.stringify(fresh)}`);
  }
}

const isOpen = (value: StateValue): boolean => typeof value === 'object' && 'open' in value;
const closeFrames = (conn: TestConnection) => conn.commands().filter((c) => c.type === 'socket.close');

function apply(conn: TestConnection, s: Step): void {
  switch (s.kind) {
    case 'batch':
      return conn.send(s.messages);
    case 'binary':
      return conn.sendBinary();
    case 'bytes':
      return conn.sendBytes(s.bytes);
    case 'advance':
      return conn.advance(s.ms);
    case 'pong':
      return conn.pong();
    case 'outbox':
      return conn.report({ type: s.event });
    case 'shutdown':
      return conn.shutdown();
    case 'terminate':
      return conn.terminate();
    case 'clientClose':
      return conn.close(s.code);
  }
}

/** The input is invalid for any text protocol: a binary frame, or a text frame that is not UTF-8. */
function invalidFrame(s: Step): number | undefined {
  if (s.kind === 'binary') return 1003;
  if (s.kind === 'bytes' && !isUtf8(s.bytes)) return 1007;
  return undefined;
}

/** How often each kind of case came up, so that a generator that stops producing one fails the run instead of passing vacuously. */
interface Counted {
  batches: number;
  afterClose: number;
  invalidFrames: number;
  policyCloses: number;
}

/** The protocol actor's snapshot, or null while a lazy protocol has not started. */
function protocolSnapshot(conn: TestConnection) {
  const ref = conn.actor.getSnapshot().context.protocol as AnyActorRef | null;
  return ref === null ? null : ref.getSnapshot();
}

function check(protocol: ProtocolDefinition, counted: Counted) {
  const oracle = TEXT_ORACLES[protocol.name];
  return (options: { autoPong: boolean; autoClose: boolean }, steps: Step[]): void => {
    const conn = createTestConnection(protocol, { heartbeatInterval: 10_000, pongTimeout: 5_000, closeTimeout: 3_000, ...options });
    const badRun = { n: 0 };
    for (const s of steps) {
      const open = isOpen(conn.state());
      const sentBefore = conn.sent().length;
      const framesBefore = closeFrames(conn).length;
      const recordBefore = conn.record();
      const protocolBefore = JSON.stringify(protocolSnapshot(conn));
      if (s.kind === 'batch') counted.batches++;

      apply(conn, s); // throws out of the actor's boundary fail the property

      const state = conn.state();
      const fresh = conn.sent().slice(sentBefore);
      if (!LEGAL.has(JSON.stringify(state))) throw new Error(`illegal connection state ${JSON.stringify(state)}`);
      if (conn.actor.getSnapshot().status === 'error') throw new Error('the connection actor failed');
      if (protocolSnapshot(conn)?.status === 'error') throw new Error(`the protocol actor failed: ${String(protocolSnapshot(conn).error)}`);
      if (closeFrames(conn).length > 1) throw new Error(`more than one close frame: ${JSON.stringify(closeFrames(conn))}`);
      if (conn.commands().filter((c) => c.type === 'socket.terminate').length > 1) throw new Error('terminated twice');
      if (recordBefore !== undefined && conn.record() !== recordBefore) throw new Error('the close record changed after the close');
      if (fresh.some((f) => parse(f).code === 'protocol_crash')) throw new Error(`the protocol crashed: ${JSON.stringify(fresh)}`);

      const invalid = invalidFrame(s);
      if (!open && (s.kind === 'batch' || s.kind === 'binary' || s.kind === 'bytes')) counted.afterClose++;
      if (open && invalid !== undefined) counted.invalidFrames++;
      if (open && closeFrames(conn)[framesBefore]?.code === 1008) counted.policyCloses++;
      if (!open) {
        // Out of order: after the close decision nothing reaches the protocol and nothing more is sent.
        if (fresh.length > 0) throw new Error(`sent ${JSON.stringify(fresh)} after the close decision`);
        if (JSON.stringify(protocolSnapshot(conn)) !== protocolBefore && protocolSnapshot(conn)?.status === 'active') {
          throw new Error('the protocol changed state after the close decision');
        }
      } else if (invalid !== undefined) {
        // Each invalid frame gets exactly one close, with its code, and no reply.
        const frames = closeFrames(conn);
        if (frames.length !== framesBefore + 1 || frames[0].code !== invalid) throw new Error(`expected one close frame with ${invalid}, got ${JSON.stringify(frames)}`);
        if (fresh.length > 0) throw new Error(`replied ${JSON.stringify(fresh)} to an invalid frame`);
      } else if (s.kind === 'batch' || s.kind === 'bytes') {
        const messages = s.kind === 'batch' ? s.messages : [utf8.decode(s.bytes)];
        if (protocol.codec === 'json') {
          const frame = closeFrames(conn)[framesBefore];
          checkJson(protocol.name, messages, fresh, badRun, frame?.code);
        } else if (oracle !== undefined) {
          const expected = oracle(messages);
          if (JSON.stringify(fresh) !== JSON.stringify(expected)) throw new Error(`sent ${JSON.stringify(fresh)}, expected ${JSON.stringify(expected)}`);
        }
      }
    }
    conn.stop();
  };
}

beforeAll(() => {
  console.log(`fast-check seed ${seed}${path === undefined ? '' : ` path ${path}`}: replay with FC_SEED=${seed} npx jest test/property`);
});

describe.each(Object.values(builtinProtocols).map((p) => [p.name, p] as const))('%s protocol under random inbound traffic', (_name, protocol) => {
  it(`never throws, stays in legal states, and answers each invalid input with exactly one error frame or close (${MIN_BATCHES}+ batches)`, () => {
    const counted: Counted = { batches: 0, afterClose: 0, invalidFrames: 0, policyCloses: 0 };
    fc.assert(fc.property(client, fc.array(step, { minLength: 1, maxLength: 20 }), check(protocol, counted)), {
      seed,
      path,
      numRuns: RUNS,
      endOnFailure: path !== undefined,
    });
    if (path !== undefined) return;
    expect(counted.batches).toBeGreaterThanOrEqual(MIN_BATCHES);
    expect(counted.afterClose).toBeGreaterThan(0);
    expect(counted.invalidFrames).toBeGreaterThan(0);
    if (protocol.codec === 'json') expect(counted.policyCloses).toBeGreaterThan(0);
  });
});
