'use strict';
// statewire itself, built by `npm run build` into dist/.
const path = require('path');
const { setup, send, reportError } = require('./common');

async function main() {
  const { createServer } = require(process.env.STATEWIRE_DIST ? process.env.STATEWIRE_DIST + '/src/index.js' : path.join(__dirname, '..', '..', 'dist', 'src', 'index.js'));
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    path: '/ws',
    protocol: 'echo',
    logLevel: 'silent',
    // The default heartbeat (25 s) in every scenario: connections to echo open asleep, so the memory scenario's idle
    // connections hibernate from their upgrade without a shorter heartbeat. STATEWIRE_HEARTBEAT_MS overrides it.
    heartbeatInterval: Number(process.env.STATEWIRE_HEARTBEAT_MS || 25000),
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
