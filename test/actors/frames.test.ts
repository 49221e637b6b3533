import fc from 'fast-check';
import * as ws from 'ws';
import { encodeTextFrames, FrameWalker, simpleTextFrameEnd, unmaskText } from '../../src/actors/frames';

// ws exports its Sender at runtime; @types/ws does not declare it.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** ws's own encoding of one unmasked text frame. */
function wsFrame(text: string): Buffer {
  const data = Buffer.from(text);
  const [header, payload] = Sender.frame(data, {
    fin: true,
    rsv1: false,
    opcode: 1,
    mask: false,
    readOnly: false,
  });
  return Buffer.concat([header, payload ?? Buffer.alloc(0)]);
}

describe('encodeTextFrames', () => {
  it.each([
    ['an empty message', ''],
    ['a short one', 'Echo: hi'],
    ['125 bytes, the largest 7-bit length', 'x'.repeat(125)],
    ['126 bytes, the smallest 16-bit length', 'x'.repeat(126)],
    ['65535 bytes, the largest 16-bit length', 'x'.repeat(65535)],
    ['65536 bytes, a 64-bit length', 'x'.repeat(65536)],
    ['multi-byte UTF-8', 'ünïcødé ✓ 🎉'.repeat(20)],
  ])('encodes %s exactly as ws does', (_case, text) => {
    expect(encodeTextFrames([text]).equals(wsFrame(text))).toBe(true);
  });

  it('concatenates a batch in order', () => {
    const batch = ['a', 'x'.repeat(300), '✓'];
    expect(encodeTextFrames(batch).equals(Buffer.concat(batch.map(wsFrame)))).toBe(true);
  });
});

/** A masked client frame, as a client sends it: the first byte (FIN, RSV, opcode), the payload, a random mask. */
function clientFrame(first: number, payload: Buffer, mask = Buffer.from([0x12, 0x34, 0x56, 0x78])): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([first, 0x80 | length]) : length < 65536 ? Buffer.from([first, 0xfe, length >> 8, length & 0xff]) : Buffer.alloc(10);
  if (length >= 65536) {
    header[0] = first;
    header[1] = 0xff;
    header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([header, mask, masked]);
}

describe('simpleTextFrameEnd and unmaskText', () => {
  it.each([0, 1, 125, 126, 65535])('finds the end of a whole masked text frame of %i bytes, and unmasks its payload in place', (length) => {
    const text = 'é'.repeat(length >> 1) + 'x'.repeat(length & 1);
    const frame = clientFrame(0x81, Buffer.from(text));
    const chunk = Buffer.concat([Buffer.from([9, 9]), frame, Buffer.from([7])]);
    const end = simpleTextFrameEnd(chunk, 2, 0);
    expect(end).toBe(2 + frame.length);
    const payload = unmaskText(chunk, 2, end)!;
    expect(payload.toString()).toBe(text);
    expect(payload.buffer).toBe(chunk.buffer);
    expect(payload.byteOffset + payload.length).toBe(chunk.byteOffset + end);
  });

  it.each([
    ['after a 7-bit length', Buffer.from([0x61, 0xc3, 0x28])],
    ['after a 16-bit length', Buffer.concat([Buffer.alloc(200, 0x61), Buffer.from([0xed, 0xa0, 0x80])])],
  ])('leaves a payload that is not UTF-8 masked as sent (null), %s', (_case, payload) => {
    const frame = clientFrame(0x81, payload);
    const chunk = Buffer.from(frame);
    expect(unmaskText(chunk, 0, simpleTextFrameEnd(chunk, 0, 0))).toBeNull();
    expect(chunk.equals(frame)).toBe(true);
  });

  it.each([
    ['a 64-bit length', clientFrame(0x81, Buffer.alloc(65536, 0x78))],
    ['a binary frame', clientFrame(0x82, Buffer.from('hi'))],
    ['a fragment', clientFrame(0x01, Buffer.from('hi'))],
    ['a continuation', clientFrame(0x80, Buffer.from('hi'))],
    ['a ping', clientFrame(0x89, Buffer.from('hi'))],
    ['a close', clientFrame(0x88, Buffer.from([0x03, 0xe8]))],
    ['RSV1 set', clientFrame(0xc1, Buffer.from('hi'))],
    ['an unmasked frame', Buffer.from([0x81, 0x02, 0x68, 0x69])],
    ['an unmasked frame of 6 bytes or more', Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f])],
    ['a frame split after its header', clientFrame(0x81, Buffer.from('hello')).subarray(0, 8)],
    ['a split 16-bit length', clientFrame(0x81, Buffer.alloc(200, 0x78)).subarray(0, 3)],
    ['a 16-bit length whose mask is split', clientFrame(0x81, Buffer.alloc(200, 0x78)).subarray(0, 7)],
    ['a lone byte', Buffer.from([0x81])],
  ])('leaves %s to ws (-1)', (_case, chunk) => {
    expect(simpleTextFrameEnd(chunk, 0, 0)).toBe(-1);
  });

  it('leaves a frame longer than maxPayload to ws, which rejects it', () => {
    const frame = clientFrame(0x81, Buffer.alloc(100, 0x78));
    expect(simpleTextFrameEnd(frame, 0, 99)).toBe(-1);
    expect(simpleTextFrameEnd(frame, 0, 100)).toBe(frame.length);
  });
});

/** One client frame of a stream, and what reading up to its end leaves pending. */
interface StreamFrame {
  bytes: Buffer;
  close: boolean;
  /** After this frame a fragmented message is still open. */
  fragmented: boolean;
}

/** A frame stream as ws would read it: messages (some fragmented, with control frames between fragments), then perhaps a close. */
const frameStream = fc
  .tuple(
    fc.array(
      fc.record({
        fragments: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 3 }),
        binary: fc.boolean(),
        between: fc.constantFrom(0x89, 0x8a, null),
      }),
      { maxLength: 6 },
    ),
    fc.boolean(),
  )
  .map(([messages, close]) => {
    const frames: StreamFrame[] = [];
    for (const { fragments, binary, between } of messages) {
      fragments.forEach((length, i) => {
        const last = i === fragments.length - 1;
        const opcode = i === 0 ? (binary ? 0x02 : 0x01) : 0x00;
        frames.push({ bytes: clientFrame((last ? 0x80 : 0) | opcode, Buffer.alloc(length, 0x61)), close: false, fragmented: !last });
        if (!last && between !== null) frames.push({ bytes: clientFrame(between, Buffer.from('p')), close: false, fragmented: true });
      });
    }
    if (close) frames.push({ bytes: clientFrame(0x88, Buffer.from([0x03, 0xe8])), close: true, fragmented: false });
    return frames;
  });

describe('FrameWalker', () => {
  it('tells, at the end of every read, whether a frame reader has nothing pending, and when a whole close frame has passed', () => {
    fc.assert(
      fc.property(frameStream, fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((frame) => frame.bytes));
        // Frame ends, with the state after each.
        const ends = new Map<number, StreamFrame>();
        let offset = 0;
        for (const frame of frames) ends.set((offset += frame.bytes.length), frame);
        const closeEnd = frames.at(-1)?.close === true ? stream.length : Infinity;
        const walker = new FrameWalker();
        let at = 0;
        let fragmented = false;
        for (const cut of [...cuts, stream.length]) {
          const to = Math.min(stream.length, at + cut);
          if (to === at) continue;
          const idle = walker.follow(stream.subarray(at, to), 0);
          // The message state after the last whole frame up to `to`.
          for (const [end, frame] of ends) if (end > at && end <= to) fragmented = frame.fragmented;
          expect(walker.closed).toBe(to >= closeEnd);
          expect(idle).toBe(ends.has(to) && !fragmented && to < closeEnd);
          at = to;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('follows a frame with a 64-bit length across reads', () => {
    const walker = new FrameWalker();
    const big = clientFrame(0x81, Buffer.alloc(70_000, 0x61));
    expect(walker.follow(big.subarray(0, 5), 0)).toBe(false);
    expect(walker.follow(big.subarray(5, 40_000), 0)).toBe(false);
    expect(walker.follow(big.subarray(40_000), 0)).toBe(true);
  });

  it('follows a read from an offset, as the bridge hands it the rest of a read', () => {
    const walker = new FrameWalker();
    const ping = clientFrame(0x89, Buffer.from('p'));
    const text = clientFrame(0x81, Buffer.from('hi'));
    expect(walker.follow(Buffer.concat([text, ping]), text.length)).toBe(true);
    expect(walker.follow(Buffer.concat([text, ping.subarray(0, 1)]), text.length)).toBe(false);
    expect(walker.follow(ping.subarray(1), 0)).toBe(true);
  });
});
