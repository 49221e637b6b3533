import fc from 'fast-check';

/** One UTF-16 code unit of a surrogate pair, on its own: what a broken encoder or a JS client with a bad slice can produce. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));

/** Any Unicode text: every code point, lone surrogates included. */
export const unicodeText = fc.string({ unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), loneSurrogate), maxLength: 64 });

const protocolType = fc.constantFrom('subscribe', 'unsubscribe', 'publish', 'ping', 'reply', 'message', 'error', 'close', '', 'SUBSCRIBE', '__proto__');

/** JSON objects shaped like protocol messages (as topics expects them), with fields both right and wrong. */
export const protocolJson = fc
  .record(
    {
      type: fc.oneof(protocolType, fc.jsonValue()),
      topic: fc.oneof(fc.constantFrom('room:1', 'room:*', '', ' ', 'a'.repeat(300)), unicodeText, fc.jsonValue()),
      ref: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)),
      payload: fc.jsonValue({ maxDepth: 4 }),
      echo: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((message) => JSON.stringify(message));

/** Text that is not JSON, or JSON that is not an object with a string `type`. */
export const invalidJson = fc.oneof(
  fc.constantFrom('{', '}', '{"type":', '{"type":"ping"', '[', 'nul', 'undefined', 'NaN', "{'type':'ping'}", '{"type":"ping",}', '\ufeff{"type":"ping"}', '{"type":5}', '{"type":null}', 'null', '[]', '"ping"', '0', 'true'),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.jsonValue().filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)).map((value) => JSON.stringify(value)),
);

/** JSON at the edges: huge and tiny numbers, duplicate and prototype keys, odd whitespace. */
export const edgeJson = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '0.1e1', '123456789012345678901234567890', '9'.repeat(400), '{"type":"ping","ref":1e400}'),
  fc.constantFrom('{"type":"a","type":"b"}', '{"__proto__":{"polluted":true},"type":"ping"}', '{"constructor":{"prototype":{"x":1}},"type":"ping"}'),
  fc.constantFrom(' \t\n\r{"type":"ping"} \n', '{"type":"ping"}\u0000', '{"type":"\\ud800"}', '{"type":"\\u0000"}'),
  fc.bigInt({ min: -(10n ** 60n), max: 10n ** 60n }).map((n) => `{"type":"publish","topic":"room:1","payload":${n}}`),
  fc.double().map((x) => `{"type":"publish","topic":"room:1","payload":${JSON.stringify(x)}}`),
);

/** Deeply nested JSON, balanced or not: parsers that recurse can overflow the stack. */
export const deepJson = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('array', 'object', 'open')).map(([depth, shape]) => {
  if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  if (shape === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return `{"type":"publish","topic":"room:1","payload":${'['.repeat(depth)}`;
});

/** One inbound text message of any of the kinds above. */
export const inboundText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 32 }) },
  { weight: 3, arbitrary: unicodeText },
  { weight: 3, arbitrary: protocolJson },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 2, arbitrary: invalidJson },
  { weight: 2, arbitrary: edgeJson },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

/** What happens to a connection next: mostly inbound batches, sometimes the socket, the clock or the server acts, in any order. */
export type Step =
  | { kind: 'batch'; messages: string[] }
  | { kind: 'binary' }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'advance'; ms: number }
  | { kind: 'pong' }
  | { kind: 'outbox'; event: 'outbox.congested' | 'outbox.flowing' | 'outbox.overflow' }
  | { kind: 'shutdown' }
  | { kind: 'terminate' }
  | { kind: 'clientClose'; code: number | undefined };

export const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.array(inboundText, { minLength: 1, maxLength: 6 }).map((messages) => ({ kind: 'batch' as const, messages })) },
  // A burst of bad frames in one read, around a json protocol's tolerance (10 in a row).
  { weight: 1, arbitrary: fc.array(invalidJson, { minLength: 9, maxLength: 12 }).map((messages) => ({ kind: 'batch' as const, messages })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'binary' as const }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((ms) => ({ kind: 'advance' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pong' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('outbox.congested', 'outbox.flowing', 'outbox.overflow').map((event) => ({ kind: 'outbox' as const, event })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'terminate' as const }) },
  { weight: 1, arbitrary: fc.option(fc.constantFrom(1000, 1001, 1006, 3000, 4999), { nil: undefined }).map((code) => ({ kind: 'clientClose' as const, code })) },
);

/** How the simulated client behaves: whether it answers pings and close frames by itself. */
export const client = fc.record({ autoPong: fc.boolean(), autoClose: fc.boolean() });
