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
  setup(() => server.close());
  const addr = await server.listen();
  send({ ready: true, port: addr.port });
}

main().catch((err) => {
  console.error('[bench] statewire server failed to start:', err && err.stack ? err.stack : err);
  send({ serverError: 'startup: ' + (err && err.message ? err.message : String(err)) });
  process.exit(1);
});
