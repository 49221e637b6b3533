'use strict';
// The load generator process. Started by run.js (pinned to CPU 1 when taskset
// exists), driven over IPC:
//   parent -> {cmd: 'run', id, scenario, target, opts}
//   child  -> {type: 'mark', name, gc}     (parent samples server stats, then)
//   parent -> {cmd: 'ack', name}
//   child  -> {type: 'result', id, result | error}
// Every scenario is bounded in time and in count and stops by itself.

const { Conn, buildBatch, codeOf } = require('./lib/wsclient');

const PAYLOAD = 'statewire-bench-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL'.slice(0, 64);
const SOURCES = Array.from({ length: 9 }, (_, i) => `127.0.0.${i + 1}`);

const hrms = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function send(msg) {
  if (process.connected) process.send(msg);
}

// A mark waits for the parent to sample the server; a server too busy to answer
// must not stall the scenario past its own time bound.
const MARK_TIMEOUT_MS = 6000;
const pendingMarks = new Map();
function mark(name, gc = false) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pendingMarks.delete(name);
      resolve(false);
    }, MARK_TIMEOUT_MS);
    pendingMarks.set(name, () => {
      clearTimeout(timer);
      resolve(true);
    });
    send({ type: 'mark', name, gc });
  });
}

function countErr(errors, err) {
  const c = codeOf(err);
  errors[c] = (errors[c] || 0) + 1;
}

/** Open `n` connections (at most `concurrency` handshakes in flight), bounded by `deadlineMs`. */
function openMany(target, n, concurrency, deadlineMs, handlers) {
  return new Promise((resolve) => {
    const conns = [];
    const errors = {};
    let started = 0;
    let inflight = 0;
    let finished = false;
    const deadline = hrms() + deadlineMs;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      resolve({ conns, errors, failed: started - conns.length - inflight });
    };
    const guard = setTimeout(finish, deadlineMs + 1000);
    const next = () => {
      while (!finished && inflight < concurrency && started < n && hrms() < deadline) {
        const i = started++;
        inflight++;
        let settled = false;
        new Conn(
          target,
          {
            onReady(c) {
              if (!settled) {
                settled = true;
                inflight--;
                if (finished) {
                  // ready after the bound: not counted, not kept open
                  c.h = { onReady() {}, onReplies() {}, onEnd() {} };
                  c.reset();
                  return;
                }
                conns.push(c);
                if (handlers.onReady) handlers.onReady(c);
                setImmediate(next);
              }
            },
            onReplies: handlers.onReplies || (() => {}),
            onEnd(c, err) {
              if (!settled) {
                settled = true;
                inflight--;
                countErr(errors, err);
                setImmediate(next);
              } else if (handlers.onEnd) handlers.onEnd(c, err);
            },
          },
          { localAddress: SOURCES[i % SOURCES.length], timeoutMs: 10000 },
        );
      }
      if (!finished && inflight === 0 && (started >= n || hrms() >= deadline)) finish();
    };
    next();
  });
}

function closeAll(conns, waitMs = 2000) {
  return new Promise((resolve) => {
    let open = 0;
    for (const c of conns) if (!c.ended) open++;
    if (open === 0) return resolve();
    const t = setTimeout(resolve, waitMs);
    const h = () => {
      if (--open === 0) {
        clearTimeout(t);
        resolve();
      }
    };
    for (const c of conns) {
      if (c.ended) continue;
      c.h = { onReady() {}, onReplies() {}, onEnd: h };
      c.reset();
    }
  });
}

// ---------------------------------------------------------------- throughput
async function throughput(target, o) {
  const { batch, frameLen } = buildBatch(target.kind, PAYLOAD, o.window);
  let received = 0;
  let stopping = false;
  const lateErrors = {};
  const topUp = (c) => {
    const k = Math.min(o.window, o.window - c.data.inflight);
    if (k <= 0) return;
    c.data.inflight += k;
    c.write(k === o.window ? batch : batch.subarray(0, k * frameLen));
  };
  const opened = await openMany(target, o.connections, o.connections, 10000, {
    onReady(c) {
      c.data = { inflight: 0 };
    },
    onReplies(c, n) {
      received += n;
      c.data.inflight -= n;
      if (!stopping) topUp(c);
    },
    onEnd(c, err) {
      countErr(lateErrors, err);
    },
  });
  const { conns } = opened;
  if (conns.length === 0) {
    return { error: 'no connection opened', openErrors: opened.errors };
  }
  for (const c of conns) topUp(c);
  await sleep(o.warmupMs);
  const r0 = received;
  const t0 = hrms();
  const cpu0 = process.cpuUsage();
  await mark('start');
  await sleep(o.durationMs);
  const r1 = received;
  const t1 = hrms();
  const cpu1 = process.cpuUsage(cpu0);
  await mark('end');
  stopping = true;
  // let in-flight replies drain (bounded), then close
  const drainUntil = hrms() + 1000;
  while (hrms() < drainUntil && conns.some((c) => !c.ended && c.data.inflight > 0)) await sleep(20);
  await closeAll(conns);
  const seconds = (t1 - t0) / 1000;
  return {
    connections: conns.length,
    window: o.window,
    msgs: r1 - r0,
    seconds,
    msgsPerSec: (r1 - r0) / seconds,
    t0,
    t1,
    loadgenCpu: (cpu1.user + cpu1.system) / 1000 / (t1 - t0), // fraction of one core
    loadgenCpuUser: cpu1.user / 1000 / (t1 - t0),
    openErrors: opened.errors,
    lateErrors,
  };
}

// ---------------------------------------------------------------- latency
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function latency(target, o) {
  const { one } = buildBatch(target.kind, PAYLOAD, 1);
  const RING = 4096;
  const maxSamples = Math.ceil((o.rate * (o.durationMs + 1000)) / 1000) + 1000;
  const samples = new Float64Array(maxSamples);
  let nSamples = 0;
  let measureFrom = Infinity;
  let measureTo = Infinity;
  let sent = 0;
  let sentMeasured = 0;
  let overflow = 0;
  const lateErrors = {};
  const opened = await openMany(target, o.connections, o.connections, 10000, {
    onReady(c) {
      c.data = { ring: new Float64Array(RING), head: 0, tail: 0 };
    },
    onReplies(c, n) {
      const now = Number(process.hrtime.bigint());
      const d = c.data;
      for (let i = 0; i < n && d.head < d.tail; i++) {
        const ts = d.ring[d.head++ & (RING - 1)];
        if (ts >= measureFrom && ts < measureTo && nSamples < maxSamples) {
          samples[nSamples++] = (now - ts) / 1000; // us
        }
      }
    },
    onEnd(c, err) {
      countErr(lateErrors, err);
    },
  });
  const { conns } = opened;
  if (conns.length === 0) return { error: 'no connection opened', openErrors: opened.errors };

  const start = hrms();
  const warmEnd = start + o.warmupMs;
  const end = warmEnd + o.durationMs;
  let rr = 0;
  await new Promise((resolve) => {
    const iv = setInterval(() => {
      const nowMs = hrms();
      if (nowMs >= end) {
        clearInterval(iv);
        return resolve();
      }
      if (measureFrom === Infinity && nowMs >= warmEnd) {
        measureFrom = Number(process.hrtime.bigint());
      }
      const due = Math.floor(((nowMs - start) * o.rate) / 1000);
      // bounded catch-up: never more than one connection-round per tick
      let k = Math.min(due - sent, conns.length * 4);
      while (k-- > 0) {
        const c = conns[rr++ % conns.length];
        sent++;
        if (c.ended) continue;
        const d = c.data;
        if (d.tail - d.head >= RING) {
          overflow++;
          continue;
        }
        const ts = Number(process.hrtime.bigint());
        d.ring[d.tail++ & (RING - 1)] = ts;
        if (ts >= measureFrom) sentMeasured++;
        c.write(one);
      }
    }, 1);
  });
  measureTo = Number(process.hrtime.bigint());
  // wait (bounded) for outstanding replies
  const drainUntil = hrms() + 1000;
  while (hrms() < drainUntil && conns.some((c) => !c.ended && c.data.head < c.data.tail)) await sleep(10);
  await closeAll(conns);
  const sorted = Array.from(samples.subarray(0, nSamples)).sort((a, b) => a - b);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    connections: conns.length,
    rate: o.rate,
    seconds: (measureTo - measureFrom) / 1e9,
    sent: sentMeasured,
    samples: nSamples,
    lost: sentMeasured - nSamples,
    overflow,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean: sorted.length ? sum / sorted.length : null,
    openErrors: opened.errors,
    lateErrors,
  };
}

// ---------------------------------------------------------------- handshakes
async function handshakes(target, o) {
  // Warm-up, as for throughput and latency: a fresh server process runs its first handshakes unoptimised, and in a
  // fixed-length run without it a slower server spends a larger share of the run warming up.
  if (o.warmupMs > 0) await handshakeLoops(target, { ...o, durationMs: o.warmupMs });
  // The heap is read after a forced GC before the run and again once its connections have ended: what a server still
  // holds of connections that are gone (the CPU figures come from 'start' and 'end', outside both collections).
  await mark('start', true);
  const cpu0 = process.cpuUsage();
  const t0 = hrms();
  const r = await handshakeLoops(target, o);
  const cpu = process.cpuUsage(cpu0);
  r.loadgenCpu = (cpu.user + cpu.system) / 1000 / (hrms() - t0);
  await mark('end');
  // Time for the server to see the last closes before its heap is read.
  await sleep(o.settleMs);
  await mark('settled', true);
  return r;
}

function handshakeLoops(target, o) {
  return new Promise((resolve) => {
    const errors = {};
    const start = hrms();
    const deadline = start + o.durationMs;
    let completed = 0;
    let attempts = 0;
    let active = 0;
    let src = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      resolve({
        concurrency: o.concurrency,
        seconds: o.durationMs / 1000,
        completed,
        attempts,
        perSec: completed / (o.durationMs / 1000),
        errors,
      });
    };
    // hard stop: deadline + the per-connection timeout
    const guard = setTimeout(finish, o.durationMs + 6000);
    const loop = () => {
      if (done) return;
      if (hrms() >= deadline) {
        if (--active === 0) finish();
        return;
      }
      attempts++;
      new Conn(
        target,
        {
          onReady(c) {
            if (hrms() <= deadline) completed++;
            c.closeFast();
          },
          onReplies() {},
          onEnd(c, err) {
            if (!c.ready) {
              countErr(errors, err);
              setTimeout(loop, 1); // don't spin on a refusing server
            } else setImmediate(loop);
          },
        },
        { localAddress: SOURCES[src++ % SOURCES.length], timeoutMs: 5000 },
      );
    };
    for (let i = 0; i < o.concurrency; i++) {
      active++;
      loop();
    }
  });
}

// ---------------------------------------------------------------- memory
async function memory(target, o) {
  await mark('baseline', true);
  const t0 = hrms();
  const lateErrors = {};
  const opened = await openMany(target, o.connections, o.concurrency, o.openTimeoutMs, {
    onEnd(c, err) {
      countErr(lateErrors, err);
    },
  });
  const openMs = hrms() - t0;
  await sleep(o.settleMs);
  const alive = opened.conns.filter((c) => !c.ended).length;
  await mark('loaded', true);
  const aliveAfter = opened.conns.filter((c) => !c.ended).length;
  await closeAll(opened.conns, 5000);
  return {
    requested: o.connections,
    opened: opened.conns.length,
    alive: Math.min(alive, aliveAfter),
    failed: o.connections - opened.conns.length,
    openMs,
    openErrors: opened.errors,
    lateErrors,
  };
}

const scenarios = { throughput, latency, handshakes, memory };

process.on('message', (m) => {
  if (!m || typeof m !== 'object') return;
  if (m.cmd === 'ack') {
    const f = pendingMarks.get(m.name);
    if (f) {
      pendingMarks.delete(m.name);
      f();
    }
  } else if (m.cmd === 'run') {
    const fn = scenarios[m.scenario];
    Promise.resolve()
      .then(() => {
        if (!fn) throw new Error('unknown scenario ' + m.scenario);
        return fn(m.target, m.opts);
      })
      .then(
        (result) => send({ type: 'result', id: m.id, result }),
        (err) => send({ type: 'result', id: m.id, error: String((err && err.stack) || err) }),
      );
  } else if (m.cmd === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ ready: true });
