import * as net from 'node:net';
import fc from 'fast-check';
import { cleanup, rawUpgrade, startServer } from './helpers';

afterEach(cleanup);

/**
 * The bridge decodes whole text frames itself and hands ws everything else,
 * switching back and forth within a connection (see `SocketBridge.read`).
 * Over real sockets, any stream of client frames, cut into reads anywhere,
 * must get what ws alone gives: every text message echoed in order, every
 * ping answered, and the close code a bad frame calls for, after the echoes
 * of everything before it.
 */

/** A masked client frame. */
function frame(first: number, payload: Buffer, mask: number): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([first, 0x80 | length]) : Buffer.from([first, 0xfe, length >> 8, length & 0xff]);
  const key = Buffer.alloc(4);
  key.writeUInt32BE(mask >>> 0);
  const masked = payload.map((byte, i) => byte ^ key[i & 3]);
  return Buffer.concat([header, key, masked]);
}

/** What the server sent: text frames, pongs, and the code of its close frame (answered with a close frame). */
function serverFrames(socket: net.Socket) {
  const seen = { texts: [] as string[], pongs: 0, closeCode: null as number | null };
  let pending = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    for (;;) {
      if (pending.length < 2) return;
      let length = pending[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        at = 4;
      }
      if (pending.length < at + length) return;
      const payload = pending.subarray(at, at + length);
      const opcode = pending[0] & 0x0f;
      if (opcode === 0x1) seen.texts.push(payload.toString());
      else if (opcode === 0xa) seen.pongs++;
      else if (opcode === 0x8) {
        seen.closeCode = payload.readUInt16BE(0);
        // A client's answer, as any client gives it: the server then ends the connection.
        socket.write(frame(0x88, Buffer.from(payload), 0));
      }
      pending = pending.subarray(at + length);
    }
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { seen, ended };
}

const message = fc.record({
  text: fc.string({ unit: 'binary', maxLength: 150 }),
  // Where the UTF-8 bytes are cut into fragments (anywhere, within a character too), as fractions of the length.
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 2 }),
  pingBetween: fc.boolean(),
  pingAfter: fc.boolean(),
  mask: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

type Message = typeof message extends fc.Arbitrary<infer M> ? M : never;

/** How the stream ends, and the server's close code for it: none (the client goes), a close frame, or a frame ws rejects. */
const CLOSE_CODES = { none: null, close: 1000, 'invalid-utf8': 1007, binary: 1003 };
type Ending = keyof typeof CLOSE_CODES;
const ending = fc.constantFrom<Ending>('none', 'close', 'invalid-utf8', 'binary');

/** The stream's frames, with the echoes and pongs ws alone would give. */
function stream(messages: Message[], end: Ending, trailing: string[]) {
  const frames: Buffer[] = [];
  let pings = 0;
  for (const { text, cuts, pingBetween, pingAfter, mask } of messages) {
    const bytes = Buffer.from(text);
    const at = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.length)))].sort((a, b) => a - b);
    const pieces = [0, ...at].map((from, i, all) => bytes.subarray(from, all[i + 1] ?? bytes.length));
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      frames.push(frame((last ? 0x80 : 0) | (i === 0 ? 0x1 : 0x0), piece, mask + i));
      if (!last && pingBetween) {
        frames.push(frame(0x89, Buffer.from('between'), mask));
        pings++;
      }
    });
    if (pingAfter) {
      frames.push(frame(0x89, Buffer.from('after'), mask));
      pings++;
    }
  }
  if (end === 'close') frames.push(frame(0x88, Buffer.from([0x03, 0xe8]), 7));
  if (end === 'invalid-utf8') frames.push(frame(0x81, Buffer.from([0x61, 0xc3, 0x28]), 7));
  if (end === 'binary') frames.push(frame(0x82, Buffer.from('bin'), 7));
  // After a close frame or a rejected one, nothing more is read: these are never echoed.
  if (end !== 'none') for (const text of trailing) frames.push(frame(0x81, Buffer.from(text), 9));
  return { bytes: Buffer.concat(frames), echoes: messages.map(({ text }) => `Echo: ${Buffer.from(text).toString()}`), pings };
}

describe("the bridge's own reads and ws's, over real sockets", () => {
  it('echo every message in order, answer every ping, and close with the code a bad frame calls for, however the frames are cut into reads', async () => {
    const { port } = await startServer({ maxPayload: 4096 });
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    process.stdout.write(`reads seed: ${seed} (replay with FC_SEED=${seed})\n`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { maxLength: 8 }),
        ending,
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 12 }),
        async (messages, end, trailing, reads) => {
          const { bytes, echoes, pings } = stream(messages, end, trailing);
          const socket = await rawUpgrade(port);
          const { seen, ended } = serverFrames(socket);
          // Each read written on its own turn, so that most arrive as reads of their own.
          let at = 0;
          for (const size of [...reads, bytes.length]) {
            if (at >= bytes.length) break;
            socket.write(bytes.subarray(at, (at += size)));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          if (end === 'none') {
            const deadline = Date.now() + 5_000;
            while ((seen.texts.length < echoes.length || seen.pongs < pings) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
            socket.destroy();
          }
          await ended;
          expect(seen.texts).toEqual(echoes);
          expect(seen.pongs).toBe(pings);
          expect(seen.closeCode).toBe(CLOSE_CODES[end]);
        },
      ),
      { numRuns: 60, seed },
    );
  });
});

describe('frames that arrive with the upgrade request', () => {
  it('are read once the upgrade completes (ws hands them back to the socket), echoed in order', async () => {
    const { port } = await startServer();
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let bytes = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => (bytes = Buffer.concat([bytes, data])));
    await new Promise((resolve) => socket.once('connect', resolve));
    // The request and two frames in one write, as a client that does not wait for the 101 sends them.
    socket.write(
      Buffer.concat([
        Buffer.from(
          'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        ),
        frame(0x81, Buffer.from('early'), 1),
        frame(0x81, Buffer.from('bird'), 2),
      ]),
    );
    const expected = Buffer.concat([Buffer.from([0x81, 11]), Buffer.from('Echo: early'), Buffer.from([0x81, 10]), Buffer.from('Echo: bird')]);
    const deadline = Date.now() + 5_000;
    while (!bytes.subarray(-expected.length).equals(expected) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(bytes.toString()).toMatch(/^HTTP\/1\.1 101 /);
    expect(bytes.subarray(-expected.length).equals(expected)).toBe(true);
    socket.destroy();
  });
});
