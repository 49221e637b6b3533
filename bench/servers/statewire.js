'use strict';
// statewire itself, built by `npm run build` into dist/.
const path = require('path');
const { setup, send, reportError } = require('./common');

async function main() {
  const { createServer } = require(path.join(__dirname, '..', '..', 'dist', 'src', 'index.js'));
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    path: '/ws',
    protocol: 'echo',
    logLevel: 'silent',
    // In the memory scenario, a 1 s heartbeat instead of the default 25 s: an idle connection hibernates at the first
    // pong after a quiet heartbeat period, so the idle connections reach that state within the run. Elsewhere the
    // default: 50 connections pinged at once every second add a burst of work the latency figures would show.
    heartbeatInterval: Number(process.env.STATEWIRE_HEARTBEAT_MS || (process.env.BENCH_SCENARIO === 'memory' ? 1000 : 25000)),
    // STATEWIRE_INSPECTOR=1 measures the inspector switched on with nobody watching.
    inspector: process.env.STATEWIRE_INSPECTOR === '1',
  });
  if (server && typeof server.on === 'function') {
    try {
      server.on('error', reportError);
    } catch {
      /* not an emitter we can listen on */
    }
  }
  setup(
    () => server.close(),
    () => {
      let hibernated = 0;
      for (const connection of server.connections.values()) if (connection.hibernated) hibernated++;
      return { hibernated };
    },
  );
  const addr = await server.listen();
  send({ ready: true, port: addr.port });
}

main().catch((err) => {
  console.error('[bench] statewire server failed to start:', err && err.stack ? err.stack : err);
  send({ serverError: 'startup: ' + (err && err.message ? err.message : String(err)) });
  process.exit(1);
});
