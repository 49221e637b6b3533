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
