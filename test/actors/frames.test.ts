import * as ws from 'ws';
import { encodeTextFrames } from '../../src/actors/frames';

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
