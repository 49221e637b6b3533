'use strict';
// A deliberately minimal WebSocket client on node:net, fast enough to load a
// server from one core: a hand-written HTTP upgrade with a fixed key, pre-built
// masked frames (fixed mask key, payload masked once), and a frame parser that
// only counts frames (unmasked server frames, 7-bit / 16-bit / 64-bit lengths).
//
// Two wire dialects:
//   kind 'ws'  : plain WebSocket; every text/binary frame from the server after
//                the 101 counts as one reply. Ready right after the 101.
//   kind 'sio' : Engine.IO v4 / Socket.IO v5 over websocket. After the 101 the
//                server sends the open packet `0{...}`; we send `40`, wait for
//                `40{...}` (ready). Replies are `42[...]` frames; pings `2` are
//                answered with `3`.

const net = require('net');

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function maskedFrame(opcode, payload) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload));
  const len = p.length;
  let hdr;
  if (len < 126) {
    hdr = Buffer.alloc(2);
    hdr[1] = 0x80 | len;
  } else if (len < 65536) {
    hdr = Buffer.alloc(4);
    hdr[1] = 0x80 | 126;
    hdr.writeUInt16BE(len, 2);
  } else {
    hdr = Buffer.alloc(10);
    hdr[1] = 0x80 | 127;
    hdr.writeBigUInt64BE(BigInt(len), 2);
  }
  hdr[0] = 0x80 | opcode;
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = p[i] ^ MASK[i & 3];
  return Buffer.concat([hdr, MASK, body]);
}

const CLOSE_FRAME = maskedFrame(8, Buffer.from([0x03, 0xe8])); // 1000 normal closure
const SIO_CONNECT = maskedFrame(1, '40');
const SIO_PONG = maskedFrame(1, '3');

/** The text message the scenario sends, wrapped for the dialect. */
function messageText(kind, payload) {
  return kind === 'sio' ? '42' + JSON.stringify(['message', payload]) : payload;
}

/** `count` copies of the message frame, concatenated; one write can send any prefix. */
function buildBatch(kind, payload, count) {
  const one = maskedFrame(1, messageText(kind, payload));
  const batch = Buffer.allocUnsafe(one.length * count);
  for (let i = 0; i < count; i++) one.copy(batch, i * one.length);
  return { one, batch, frameLen: one.length };
}

function upgradeRequest(target) {
  return Buffer.from(
    `GET ${target.path} HTTP/1.1\r\n` +
      `Host: ${target.host}:${target.port}\r\n` +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${KEY}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n',
    'latin1',
  );
}

const upgradeCache = new Map();

// One receive buffer for every socket (net `onread`): no Buffer allocation per
// read. Safe because each read is parsed synchronously; leftovers are copied.
const RECV = Buffer.allocUnsafe(256 * 1024);

function codeOf(err) {
  if (!err) return 'closed';
  return err.code || err.message || String(err);
}

class Conn {
  /**
   * target: {host, port, path, kind}
   * h: {onReady(conn), onReplies(conn, n), onEnd(conn, err|null)}
   * opts: {localAddress, timeoutMs (until ready)}
   */
  constructor(target, h, opts = {}) {
    this.kind = target.kind;
    this.h = h;
    this.upgraded = false;
    this.ready = false;
    this.ended = false;
    this.buf = null;
    this.err = null;
    this.rst = false;
    this.data = null; // scenario-owned per-connection state
    let req = upgradeCache.get(target);
    if (!req) {
      req = upgradeRequest(target);
      upgradeCache.set(target, req);
    }
    const sock = net.connect({
      host: target.host,
      port: target.port,
      localAddress: opts.localAddress,
      onread: {
        buffer: RECV,
        callback: (n, buf) => {
          this._data(buf.subarray(0, n));
        },
      },
    });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write(req));
    sock.on('error', (e) => this._end(e));
    sock.on('close', () => this._end(null));
    if (opts.timeoutMs) {
      this.timer = setTimeout(() => {
        if (!this.ready) this._end(Object.assign(new Error('timeout'), { code: 'TIMEOUT' }));
      }, opts.timeoutMs);
    }
  }

  _ready() {
    this.ready = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.h.onReady(this);
  }

  _fail(code) {
    this._end(Object.assign(new Error(code), { code }));
  }

  _data(d) {
    if (this.ended) return;
    if (this.buf !== null) {
      d = Buffer.concat([this.buf, d]);
      this.buf = null;
    }
    if (!this.upgraded) {
      const i = d.indexOf('\r\n\r\n');
      if (i < 0) {
        if (d.length > 65536) return this._fail('UPGRADE_TOO_LONG');
        this.buf = Buffer.from(d);
        return;
      }
      const status = d.toString('latin1', 0, Math.min(i, d.indexOf('\r\n')));
      if (!/^HTTP\/1\.1 101/.test(status)) {
        return this._fail('HTTP ' + status.replace(/^HTTP\/1\.\d /, ''));
      }
      this.upgraded = true;
      d = d.subarray(i + 4);
      if (this.kind === 'ws') {
        this._ready();
        if (this.ended) return;
      }
      if (d.length === 0) return;
    }
    const len = d.length;
    let off = 0;
    let n = 0;
    let closed = false;
    while (off + 2 <= len && !this.ended) {
      const b0 = d[off];
      const b1 = d[off + 1];
      let plen = b1 & 0x7f;
      let hl = 2;
      if (plen === 126) {
        if (off + 4 > len) break;
        plen = d.readUInt16BE(off + 2);
        hl = 4;
      } else if (plen === 127) {
        if (off + 10 > len) break;
        plen = Number(d.readBigUInt64BE(off + 2));
        hl = 10;
      }
      if (b1 & 0x80) hl += 4; // a masked server frame is a protocol error; skip it anyway
      const end = off + hl + plen;
      if (end > len) break;
      const op = b0 & 0x0f;
      if (op === 1 || op === 2 || op === 0) {
        if (this.kind === 'ws') n++;
        else n += this._sio(d, off + hl, end);
      } else if (op === 9) {
        this.write(maskedFrame(10, d.subarray(off + hl, end)));
      } else if (op === 8) {
        closed = true;
      }
      off = end;
    }
    if (this.ended) return;
    if (off < len) this.buf = Buffer.from(d.subarray(off));
    if (n > 0 && this.ready) this.h.onReplies(this, n);
    if (closed) this._fail(this.ready ? 'SERVER_CLOSE' : 'SERVER_CLOSE_BEFORE_READY');
  }

  _sio(d, s, e) {
    if (e <= s) return 0;
    const c0 = d[s];
    if (c0 === 0x34 /* 4: socket.io packet */) {
      const c1 = e > s + 1 ? d[s + 1] : 0;
      if (c1 === 0x32 /* 2: EVENT */) return 1;
      if (c1 === 0x30 /* 0: CONNECT ack */) {
        if (!this.ready) this._ready();
        return 0;
      }
      if (c1 === 0x34 /* 4: CONNECT_ERROR */ || c1 === 0x31 /* 1: DISCONNECT */) {
        this._fail(this.ready ? 'SIO_DISCONNECT' : 'SIO_CONNECT_ERROR');
      }
      return 0;
    }
    if (c0 === 0x32 /* 2: ping */) {
      this.write(SIO_PONG);
      return 0;
    }
    if (c0 === 0x30 /* 0: open */) {
      this.write(SIO_CONNECT);
      return 0;
    }
    return 0;
  }

  write(buf) {
    if (!this.ended) this.sock.write(buf);
  }

  /** Polite close: a close frame, then drop the socket without waiting. */
  closeFast() {
    if (this.ended) return;
    this.sock.write(CLOSE_FRAME);
    this._end(null);
  }

  destroy() {
    this._end(null);
  }

  /** Teardown with an RST (no TIME_WAIT left behind on either side). */
  reset() {
    if (this.ended) return;
    this.rst = true;
    this._end(null);
  }

  _end(err) {
    if (this.ended) return;
    this.ended = true;
    this.err = err;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.rst && typeof this.sock.resetAndDestroy === 'function' && this.sock.readyState === 'open') {
      this.sock.resetAndDestroy();
    } else {
      this.sock.destroy();
    }
    this.h.onEnd(this, err);
  }
}

module.exports = { Conn, maskedFrame, buildBatch, messageText, codeOf, CLOSE_FRAME };
