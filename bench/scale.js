'use strict';
// Scale: N idle connections to one statewire server, heartbeats on.
// Reports the server's RSS and heap per connection, its event-loop delay p99,
// and whether every heartbeat ping arrived on time (clients measure the gap
// between pings on each connection and answer with pongs).
//
//   node bench/scale.js [--connections 19000] [--heartbeat 5000] [--hold 12000]
//
// Every wait is bounded; children are killed on exit.
const { fork } = require('node:child_process');
const path = require('node:path');
const net = require('node:net');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};

if (process.argv[2] === '--server') return runServer();
if (process.argv[2] === '--clients') return runClients();

const N = flag('connections', 19000);
const HEARTBEAT = flag('heartbeat', 5000);
const HOLD = flag('hold', 12000);
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function ask(child, message) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(message)}`)), 120000);
    child.once('message', (reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
    child.send(message);
  });
}

(async () => {
  const server = fork(__filename, ['--server', String(HEARTBEAT)], { execArgv: ['--expose-gc'] });
  children.push(server);
  const { port } = await new Promise((resolve) => server.once('message', resolve));
  const before = await ask(server, { cmd: 'stats' });
  const clients = fork(__filename, ['--clients', String(port), String(N)]);
  children.push(clients);
  const t0 = Date.now();
  const opened = await new Promise((resolve) => clients.once('message', resolve));
  const openMs = Date.now() - t0;
  await ask(server, { cmd: 'reset-delay' });
  await new Promise((resolve) => setTimeout(resolve, HOLD));
  const after = await ask(server, { cmd: 'stats' });
  const pings = await ask(clients, { cmd: 'pings' });
  const n = after.active;
  const result = {
    connections: { asked: N, opened: opened.opened, failed: opened.failed, stillOpenAtServer: n, openMs },
    heartbeatMs: HEARTBEAT,
    holdMs: HOLD,
    rssKBPerConn: +((after.rss - before.rss) / n / 1024).toFixed(2),
    heapKBPerConn: +((after.heapUsed - before.heapUsed) / n / 1024).toFixed(2),
    eventLoopDelayMs: { p50: after.delayP50, p99: after.delayP99, max: after.delayMax },
    pings,
  };
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});

function runServer() {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const { createServer } = require('../dist/src/index.js');
  const heartbeat = Number(process.argv[3]);
  const server = createServer({ port: 0, logLevel: 'silent', heartbeatInterval: heartbeat, pongTimeout: heartbeat, metrics: false });
  const RESOLUTION_MS = 10;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  server.listen().then(({ port }) => process.send({ port }));
  process.on('message', (message) => {
    if (message.cmd === 'reset-delay') {
      delay.reset();
      process.send({ ok: true });
    } else if (message.cmd === 'stats') {
      global.gc();
      const { rss, heapUsed } = process.memoryUsage();
      process.send({
        rss,
        heapUsed,
        active: server.connections.size,
        // The histogram holds whole sampling intervals: the delay is what exceeds the resolution.
        delayP50: +(delay.percentile(50) / 1e6 - RESOLUTION_MS).toFixed(2),
        delayP99: +(delay.percentile(99) / 1e6 - RESOLUTION_MS).toFixed(2),
        delayMax: +(delay.max / 1e6 - RESOLUTION_MS).toFixed(2),
      });
    }
  });
}

function runClients() {
  const port = Number(process.argv[3]);
  const total = Number(process.argv[4]);
  const MASK = Buffer.from([1, 2, 3, 4]);
  const request = Buffer.from(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const gaps = [];
  let pings = 0;
  let opened = 0;
  let failed = 0;
  function pong(payload) {
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x8a;
    frame[1] = 0x80 | payload.length;
    MASK.copy(frame, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ MASK[i & 3];
    return frame;
  }
  function open(i) {
    return new Promise((resolve) => {
      // Spread over 127.0.0.x source addresses so the client side does not run out of ports.
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (i % 50)}` });
      let upgraded = false;
      let lastPing = 0;
      let buffer = Buffer.alloc(0);
      const timer = setTimeout(() => {
        failed++;
        socket.destroy();
        resolve();
      }, 30000);
      socket.on('connect', () => socket.write(request));
      socket.on('error', () => undefined);
      socket.on('data', (data) => {
        buffer = Buffer.concat([buffer, data]);
        if (!upgraded) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) return;
          upgraded = true;
          opened++;
          clearTimeout(timer);
          buffer = buffer.subarray(end + 4);
          resolve();
        }
        // Server frames: unmasked, small control frames here.
        while (buffer.length >= 2) {
          const opcode = buffer[0] & 0x0f;
          const len = buffer[1] & 0x7f;
          if (len > 125 || buffer.length < 2 + len) break;
          const payload = buffer.subarray(2, 2 + len);
          buffer = buffer.subarray(2 + len);
          if (opcode === 0x9) {
            const now = Date.now();
            if (lastPing !== 0) gaps.push(now - lastPing);
            lastPing = now;
            pings++;
            socket.write(pong(payload));
          }
        }
      });
    });
  }
  (async () => {
    for (let i = 0; i < total; i += 200) await Promise.all(Array.from({ length: Math.min(200, total - i) }, (_, k) => open(i + k)));
    process.send({ opened, failed });
  })();
  process.on('message', () => {
    gaps.sort((a, b) => a - b);
    const at = (q) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))];
    process.send({ received: pings, gapsMeasured: gaps.length, gapMs: { p50: at(0.5), p99: at(0.99), max: gaps[gaps.length - 1] } });
  });
}
