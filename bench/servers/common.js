'use strict';
// Shared IPC plumbing for the benchmark servers. Each server process:
//   - sends {ready: true, port} once listening,
//   - answers {cmd: 'stats', id?, gc?} with {id, rss, heapUsed, cpuUser, cpuSystem, t, ...extra()},
//     where cpu* are process.cpuUsage() microseconds and t is process.hrtime in ms
//     (CLOCK_MONOTONIC, comparable across processes on the same machine),
//   - answers {cmd: 'stop'} by closing (bounded to 3 s) and exiting,
//   - reports server-level errors (e.g. EMFILE on accept) as {serverError: code},
//   - exits when the parent goes away.

// `extra` adds server-specific figures to every stats answer (statewire: how many connections hibernate).
function setup(stop, extra = () => ({})) {
  process.on('message', (m) => {
    if (!m || typeof m !== 'object') return;
    if (m.cmd === 'stats') {
      if (m.gc && typeof global.gc === 'function') {
        global.gc();
        global.gc();
      }
      let mem;
      try {
        mem = process.memoryUsage(); // reads /proc: needs a free file descriptor
      } catch (err) {
        send({ id: m.id, error: `memoryUsage failed: ${err.code || err.message}` });
        return;
      }
      const cpu = process.cpuUsage();
      send({
        id: m.id,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        cpuUser: cpu.user,
        cpuSystem: cpu.system,
        t: Number(process.hrtime.bigint()) / 1e6,
        ...extra(),
      });
    } else if (m.cmd === 'stop') {
      const timer = setTimeout(() => process.exit(0), 3000);
      timer.unref();
      Promise.resolve()
        .then(stop)
        .catch(() => {})
        .finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function send(msg) {
  if (process.connected) {
    try {
      process.send(msg);
    } catch {
      /* parent gone */
    }
  }
}

let lastReported = 0;
function reportError(err) {
  // Rate-limited: an EMFILE storm must not flood the IPC channel.
  const now = Date.now();
  if (now - lastReported < 100) return;
  lastReported = now;
  send({ serverError: (err && (err.code || err.message)) || String(err) });
}

module.exports = { setup, send, reportError };
