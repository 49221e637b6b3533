import { isUtf8 } from 'node:buffer';

/**
 * Server-to-client text frames (RFC 6455 section 5.2: FIN, opcode 0x1, no
 * mask), encoded for a whole batch into one buffer so that a batch costs one
 * socket write. Used only where no extension is negotiated (statewire turns
 * permessage-deflate off), so a frame is exactly header plus UTF-8 payload.
 */
export function encodeTextFrames(messages: readonly string[]): Buffer {
  const lengths = new Array<number>(messages.length);
  let size = 0;
  for (let i = 0; i < messages.length; i++) {
    const length = Buffer.byteLength(messages[i]);
    lengths[i] = length;
    size += length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const length = lengths[i];
    out[at++] = 0x81;
    if (length < 126) {
      out[at++] = length;
    } else if (length < 65536) {
      out[at++] = 126;
      out.writeUInt16BE(length, at);
      at += 2;
    } else {
      // 64-bit length; payloads here stay below 2^53 (maxPayload is at most 2^31 - 1).
      out[at++] = 127;
      out.writeUInt32BE(Math.floor(length / 2 ** 32), at);
      out.writeUInt32BE(length >>> 0, at + 4);
      at += 8;
    }
    at += out.write(messages[i], at, length, 'utf8');
  }
  return out;
}

/**
 * Where the client-to-server text frame starting at `at` ends, when statewire
 * can read it without ws: the whole frame is in `chunk`, with FIN, no RSV bit,
 * opcode 0x1, the mask bit, a 7- or 16-bit length, and a payload no longer than
 * `maxPayload` (0: no limit). -1 for anything else (a control or binary frame,
 * a fragment, a frame split across reads, a frame ws would reject), which ws reads.
 */
export function simpleTextFrameEnd(chunk: Buffer, at: number, maxPayload: number): number {
  if (chunk.length - at < 6 || chunk[at] !== 0x81) return -1;
  const second = chunk[at + 1];
  if ((second & 0x80) === 0) return -1;
  let length = second & 0x7f;
  let payloadAt = at + 6;
  if (length === 126) {
    if (chunk.length - at < 8) return -1;
    length = chunk.readUInt16BE(at + 2);
    payloadAt = at + 8;
  } else if (length === 127) {
    return -1;
  }
  if (maxPayload > 0 && length > maxPayload) return -1;
  const end = payloadAt + length;
  return end <= chunk.length ? end : -1;
}

/**
 * The payload of the frame `simpleTextFrameEnd` found between `at` and `end`,
 * unmasked in place, as ws unmasks it; null when it is not valid UTF-8, with
 * the frame masked again, so that ws can read it as sent (and fail it, 1007).
 */
export function unmaskText(chunk: Buffer, at: number, end: number): Buffer | null {
  // Past the header: 2 bytes, the 16-bit length where the 7-bit one says 126 (masked: 0xfe), the mask.
  const payloadAt = chunk[at + 1] === 0xfe ? at + 8 : at + 6;
  toggleMask(chunk, payloadAt, end);
  const payload = chunk.subarray(payloadAt, end);
  if (isUtf8(payload)) return payload;
  toggleMask(chunk, payloadAt, end);
  return null;
}

/** XORs a masked frame's payload with its mask, in place: unmasks it, or masks it again. */
function toggleMask(chunk: Buffer, payloadAt: number, end: number): void {
  const maskAt = payloadAt - 4;
  for (let i = payloadAt; i < end; i++) chunk[i] ^= chunk[maskAt + ((i - payloadAt) & 3)];
}

/**
 * Follows the frames of a byte stream without decoding them, to tell when a
 * reader of whole frames (ws's) has nothing pending: between frames, and not
 * inside a fragmented message. It also tells when a close frame has passed,
 * after which such a reader takes nothing more.
 */
export class FrameWalker {
  /** Payload bytes of the current frame still to come. */
  private payloadLeft = 0;
  /** The start of a header split across reads. */
  private head: Buffer | null = null;
  /** Inside a fragmented data message (a data frame without FIN, until a continuation with FIN). */
  private fragmented = false;
  /** The current frame is a close frame. */
  private closing = false;
  /** A whole close frame has passed. */
  closed = false;

  /** Follows `chunk` from `from` to its end; true when it ends with nothing pending (see above). */
  follow(chunk: Buffer, from: number): boolean {
    let at = from;
    while (at < chunk.length && !this.closed) {
      if (this.payloadLeft > 0) {
        const taken = Math.min(this.payloadLeft, chunk.length - at);
        this.payloadLeft -= taken;
        at += taken;
      } else {
        // A header: from this read, or begun in an earlier one.
        const kept = this.head?.length ?? 0;
        const bytes = this.head === null ? chunk.subarray(at) : Buffer.concat([this.head, chunk.subarray(at, at + 14)]);
        const size = headerSize(bytes);
        if (size < 0) {
          this.head = Buffer.from(bytes);
          return false;
        }
        this.head = null;
        at += size - kept;
        const opcode = bytes[0] & 0x0f;
        this.closing = opcode === 0x08;
        if (opcode < 0x08) this.fragmented = (bytes[0] & 0x80) === 0;
        this.payloadLeft = payloadLength(bytes);
      }
      if (this.payloadLeft === 0 && this.closing) this.closed = true;
    }
    return !this.closed && this.payloadLeft === 0 && this.head === null && !this.fragmented;
  }
}

/** A frame header's size in bytes, or -1 while `bytes` holds only part of it. */
function headerSize(bytes: Buffer): number {
  if (bytes.length < 2) return -1;
  const length = bytes[1] & 0x7f;
  const size = 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + ((bytes[1] & 0x80) !== 0 ? 4 : 0);
  return bytes.length >= size ? size : -1;
}

/** A whole header's payload length (64-bit lengths past 2^53 come out inexact: ws rejects those frames anyway). */
function payloadLength(bytes: Buffer): number {
  const length = bytes[1] & 0x7f;
  if (length === 126) return bytes.readUInt16BE(2);
  if (length === 127) return bytes.readUInt32BE(2) * 2 ** 32 + bytes.readUInt32BE(6);
  return length;
}
