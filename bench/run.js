#!/usr/bin/env node
'use strict';
// statewire benchmark harness. See bench/README.md.
//   node bench/run.js [--quick] [--only throughput,latency,memory,handshakes]
//                     [--servers ws,statewire,socketio] [--warmup ms]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.join(__dirname, '..');
const ALL_SERVERS = ['ws', 'statewire', 'socketio'];
const ALL_SCENARIOS = ['memory', 'throughput', 'latency', 'handshakes']; // run order per server
const SERVER_TARGET = {
  ws: { kind: 'ws', path: '/ws' },
  statewire: { kind: 'ws', path: '/ws' },
  socketio: { kind: 'sio', path: '/socket.io/?EIO=4&transport=websocket' },
};
const LABEL = { ws: 'raw ws 8', statewire: 'statewire', socketio: 'socket.io 4' };

// ------------------------------------------------------------------ arguments
function parseArgs(argv) {
  const out = { quick: false, only: ALL_SCENARIOS.slice(), servers: ALL_SERVERS.slice(), warmupMs: null };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const list = (allowed) => {
      const raw = v !== undefined ? v : argv[++i];
      if (!raw) die(`${a} needs a comma-separated list`);
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      for (const s of items) if (!allowed.includes(s)) die(`${a}: unknown '${s}' (one of ${allowed.join(', ')})`);
      return items;
    };
    if (a === '--quick') out.quick = true;
    else if (a === '--only') out.only = list(ALL_SCENARIOS);
    else if (a === '--servers') out.servers = list(ALL_SERVERS);
    else if (a === '--warmup') {
      const raw = v !== undefined ? v : argv[++i];
      const ms = Number(raw);
      if (!Number.isInteger(ms) || ms < 0 || ms > 60000) die(`--warmup needs a whole number of milliseconds, 0 to 60000 (got '${raw}')`);
      out.warmupMs = ms;
    }
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/run.js [--quick] [--only throughput,latency,memory,handshakes] [--servers ws,statewire,socketio] [--warmup ms]');
      process.exit(0);
    } else die(`unknown argument ${argv[i]}`);
  }
  out.only = ALL_SCENARIOS.filter((s) => out.only.includes(s));
  out.servers = ALL_SERVERS.filter((s) => out.servers.includes(s));
  return out;
}

function die(msg) {
  console.error('bench: ' + msg);
  process.exit(2);
}

const log = (...a) => console.error('[bench]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function config(quick) {
  return quick
    ? {
        reps: 1,
        throughput: { connections: 50, window: 16, warmupMs: 500, durationMs: 2000 },
        latency: { connections: 50, rate: 5000, warmupMs: 300, durationMs: 2000 },
        memory: { connections: 2000, concurrency: 200, settleMs: 2000, openTimeoutMs: 15000 },
        handshakes: { concurrency: 50, warmupMs: 500, durationMs: 1500, settleMs: 500 },
      }
    : {
        reps: 3,
        throughput: { connections: 50, window: 16, warmupMs: 1000, durationMs: 5000 },
        latency: { connections: 50, rate: 5000, warmupMs: 500, durationMs: 5000 },
        memory: { connections: 10000, concurrency: 200, settleMs: 2000, openTimeoutMs: 30000 },
        handshakes: { concurrency: 50, warmupMs: 1000, durationMs: 3000, settleMs: 500 },
      };
}

// Upper bound for one scenario (the load generator is killed past it). Includes
// its marks (server stats; three for handshakes), each bounded to 6 s in the load generator.
function scenarioTimeout(name, o) {
  const marks = 2 * 6000;
  switch (name) {
    case 'throughput':
    case 'latency':
      return 11000 + o.warmupMs + o.durationMs + 3000 + marks; // open (10 s) + run + drain and close
    case 'handshakes':
      return o.warmupMs + 6000 + o.durationMs + 6000 + marks + o.settleMs + 6000 + 2000; // + the settled mark
    case 'memory':
      return o.openTimeoutMs + 1000 + o.settleMs + 5000 + marks + 2000;
    default:
      return 60000;
  }
}

// ------------------------------------------------------------------ processes
const children = new Set();

function findTaskset() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'taskset');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}
const TASKSET = findTaskset();

/** Soft limit on open files, inherited by the children (null if unknown). */
function openFileLimit() {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const v = line && line.replace('Max open files', '').trim().split(/\s+/)[0];
    return v === 'unlimited' ? Infinity : Number(v) || null;
  } catch {
    return null;
  }
}
const FD_LIMIT = openFileLimit();
const CORES = os.cpus().length;
const PIN = TASKSET && CORES >= 2 ? { server: '0', load: '1' } : null;

function startChild(script, cpu, nodeArgs = [], env = {}) {
  const args = [...nodeArgs, script];
  const stdio = ['ignore', 2, 2, 'ipc']; // children's stdout goes to our stderr: stdout is the table
  const options = { stdio, cwd: ROOT, env: { ...process.env, ...env } };
  const child =
    PIN && cpu !== undefined ? spawn(TASKSET, ['-c', cpu, process.execPath, ...args], options) : spawn(process.execPath, args, options);
  children.add(child);
  child.exited = false;
  child.on('exit', (code, signal) => {
    child.exited = true;
    child.exitInfo = signal || code;
    children.delete(child);
  });
  child.on('error', () => {});
  return child;
}

function killChild(child) {
  if (child && !child.exited) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function killAll() {
  for (const c of children) killChild(c);
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping children`);
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error('[bench] fatal:', err && err.stack ? err.stack : err);
  killAll();
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  console.error('[bench] fatal (unhandled rejection):', err && err.stack ? err.stack : err);
  killAll();
  process.exit(1);
});

function waitFor(child, pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (pred(m)) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${what}: process exited (${child.exitInfo})`));
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    function cleanup() {
      clearTimeout(t);
      child.off('message', onMsg);
      child.off('exit', onExit);
    }
    if (child.exited) return onExit();
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
}

class ServerProc {
  constructor(name, scenario) {
    this.name = name;
    this.scenario = scenario;
    this.errors = {};
    this.seq = 0;
  }
  async start() {
    // Servers may configure themselves per scenario (statewire: its heartbeat in the memory scenario).
    const flags = (process.env.BENCH_SERVER_FLAGS || '').split(/\s+/).filter(Boolean);
    this.child = startChild(path.join(__dirname, 'servers', `${this.name}.js`), PIN && PIN.server, ['--expose-gc', ...flags], { BENCH_SCENARIO: this.scenario });
    this.child.on('message', (m) => {
      if (m && m.serverError) {
        this.errors[m.serverError] = (this.errors[m.serverError] || 0) + 1;
        if (!this.warned) {
          this.warned = true;
          log(`${this.name} server reported error: ${m.serverError}${/EMFILE|ENFILE/.test(m.serverError) ? ' (out of file descriptors: raise `ulimit -n` or lower the connection count)' : ''}`);
        }
      }
    });
    const m = await waitFor(this.child, (x) => x && (x.ready || x.serverError), 20000, `${this.name} server start`);
    if (!m.ready) throw new Error(`${this.name} server failed: ${m.serverError}`);
    this.port = m.port;
    return this;
  }
  stats(gc = false) {
    const id = ++this.seq;
    const p = waitFor(this.child, (x) => x && x.id === id && (x.rss !== undefined || x.error), 5000, `${this.name} stats`);
    this.child.send({ cmd: 'stats', id, gc });
    return p.then((x) => {
      if (x.error) throw new Error(`${this.name} server stats: ${x.error}`);
      return x;
    });
  }
  async stop() {
    if (!this.child || this.child.exited) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      this.child.send({ cmd: 'stop' });
    } catch {
      /* channel closed */
    }
    // The process is thrown away: a short grace period, then SIGKILL.
    await Promise.race([exited, sleep(1000)]);
    if (!this.child.exited) {
      killChild(this.child);
      await Promise.race([exited, sleep(2000)]);
    }
  }
}

class LoadProc {
  async start() {
    this.seq = 0;
    this.child = startChild(path.join(__dirname, 'load.js'), PIN && PIN.load);
    await waitFor(this.child, (x) => x && x.ready, 10000, 'load generator start');
    return this;
  }
  run(scenario, target, opts, server, timeoutMs) {
    const id = ++this.seq;
    const marks = {};
    const child = this.child;
    const onMark = (m) => {
      if (!m || m.type !== 'mark') return;
      server.stats(m.gc).then(
        (s) => {
          marks[m.name] = s;
          if (!child.exited) child.send({ cmd: 'ack', name: m.name });
        },
        (err) => {
          marks[m.name] = { error: err.message };
          if (!child.exited) child.send({ cmd: 'ack', name: m.name });
        },
      );
    };
    child.on('message', onMark);
    child.send({ cmd: 'run', id, scenario, target, opts });
    return waitFor(child, (x) => x && x.type === 'result' && x.id === id, timeoutMs, `${scenario} scenario`)
      .then((m) => {
        if (m.error) throw new Error(m.error);
        return { result: m.result, marks };
      })
      .finally(() => child.off('message', onMark));
  }
  async stop() {
    if (!this.child || this.child.exited) return;
    try {
      this.child.send({ cmd: 'exit' });
    } catch {
      /* gone */
    }
    await Promise.race([new Promise((r) => this.child.once('exit', r)), sleep(2000)]);
    killChild(this.child);
  }
}

// ------------------------------------------------------------------ figures
function derive(name, result, marks) {
  if (!result || result.error) return { error: (result && result.error) || 'no result', raw: result };
  if (name === 'throughput') {
    const a = marks.start;
    const b = marks.end;
    let cpuPerMsg = null;
    let serverCpu = null;
    if (a && b && !a.error && !b.error && result.msgs > 0) {
      const cpuUs = b.cpuUser + b.cpuSystem - (a.cpuUser + a.cpuSystem);
      const serverMs = b.t - a.t;
      serverCpu = cpuUs / 1000 / serverMs; // fraction of one core
      // rate-based: server CPU per server-second / messages per loadgen-second
      cpuPerMsg = cpuUs / (serverMs / 1000) / result.msgsPerSec;
    } else if ((a && a.error) || (b && b.error)) {
      return { error: (a && a.error) || b.error, msgsPerSec: result.msgsPerSec };
    }
    return {
      msgsPerSec: result.msgsPerSec,
      cpuPerMsgUs: cpuPerMsg,
      serverCpu,
      loadgenCpu: result.loadgenCpu,
    };
  }
  if (name === 'latency') {
    return {
      p50: result.p50,
      p99: result.p99,
      p999: result.p999,
      achievedRate: result.seconds > 0 ? result.sent / result.seconds : null,
      lost: result.lost,
    };
  }
  if (name === 'memory') {
    const a = marks.baseline;
    const b = marks.loaded;
    if (!a || !b || a.error || b.error || result.alive <= 0) {
      const why = (a && a.error) || (b && b.error) || (result.alive <= 0 ? 'no connection alive' : 'missing server stats');
      return { error: why, raw: result };
    }
    const n = result.alive;
    return {
      connections: n,
      rssKBPerConn: (b.rss - a.rss) / n / 1024,
      heapKBPerConn: (b.heapUsed - a.heapUsed) / n / 1024,
      failed: result.failed,
      // statewire: connections hibernating when the figures were read.
      ...(b.hibernated === undefined ? {} : { hibernated: b.hibernated }),
    };
  }
  if (name === 'handshakes') {
    const a = marks.start;
    const b = marks.end;
    let serverCpu = null;
    let cpuPerHandshakeUs = null;
    if (a && b && !a.error && !b.error) {
      const cpuUs = b.cpuUser + b.cpuSystem - (a.cpuUser + a.cpuSystem);
      serverCpu = cpuUs / 1000 / (b.t - a.t);
      if (result.completed > 0) cpuPerHandshakeUs = cpuUs / result.completed;
    }
    // Heap still held, after forced GCs, of the connections the run opened and closed.
    const c = marks.settled;
    const retainedBytesPerHandshake = a && c && !a.error && !c.error && result.completed > 0 ? (c.heapUsed - a.heapUsed) / result.completed : null;
    return {
      perSec: result.perSec,
      failed: result.attempts - result.completed,
      serverCpu,
      cpuPerHandshakeUs,
      retainedBytesPerHandshake,
      loadgenCpu: result.loadgenCpu,
    };
  }
  return {};
}

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const METRICS = [
  ['throughput', 'msgsPerSec'],
  ['throughput', 'cpuPerMsgUs'],
  ['throughput', 'loadgenCpu'],
  ['throughput', 'serverCpu'],
  ['latency', 'p50'],
  ['latency', 'p99'],
  ['latency', 'p999'],
  ['memory', 'rssKBPerConn'],
  ['memory', 'heapKBPerConn'],
  ['handshakes', 'perSec'],
  ['handshakes', 'cpuPerHandshakeUs'],
  ['handshakes', 'retainedBytesPerHandshake'],
  ['handshakes', 'loadgenCpu'],
];

function summarize(runs, servers, reps) {
  const summary = {};
  for (const s of servers) {
    summary[s] = {};
    for (const [sc, key] of METRICS) {
      const vals = [];
      const ratios = [];
      for (let r = 0; r < reps; r++) {
        const run = runs.find((x) => x.server === s && x.rep === r);
        const base = runs.find((x) => x.server === 'ws' && x.rep === r);
        const v = run && run.figures[sc] ? run.figures[sc][key] : undefined;
        vals.push(v);
        const bv = base && base.figures[sc] ? base.figures[sc][key] : undefined;
        if (typeof v === 'number' && typeof bv === 'number' && bv !== 0) ratios.push(v / bv);
      }
      summary[s][`${sc}.${key}`] = { median: median(vals), ratio: median(ratios), perRep: vals };
    }
  }
  return summary;
}

// ------------------------------------------------------------------ table
function fmtNum(v, digits) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (digits === 0) return (Math.round(v) || 0).toLocaleString('en-US'); // no "-0"
  return v.toFixed(digits);
}
const pct = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v * 100)}%` : '-');
const fmtRatio = (r) => (r === null || r === undefined ? '' : ` (${r.toFixed(2)}x)`);

function table(summary, servers) {
  const rows = [
    '| server | msgs/s (x ws) | cpu us/msg (x ws) | p50 / p99 / p99.9 us (p99 x ws) | RSS KB/conn (x ws) | heap KB/conn (x ws) | handshakes/s (x ws) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of servers) {
    const g = (k) => summary[s][k] || {};
    const cell = (k, d) => fmtNum(g(k).median, d) + (g(k).median !== null && g(k).median !== undefined ? fmtRatio(g(k).ratio) : '');
    rows.push(
      `| ${LABEL[s]} | ${cell('throughput.msgsPerSec', 0)} | ${cell('throughput.cpuPerMsgUs', 1)} | ` +
        `${fmtNum(g('latency.p50').median, 0)} / ${fmtNum(g('latency.p99').median, 0)} / ${fmtNum(g('latency.p999').median, 0)}` +
        `${g('latency.p99').median !== null && g('latency.p99').median !== undefined ? fmtRatio(g('latency.p99').ratio) : ''} | ` +
        `${cell('memory.rssKBPerConn', 1)} | ${cell('memory.heapKBPerConn', 1)} | ${cell('handshakes.perSec', 0)} |`,
    );
  }
  return rows.join('\n');
}

// ------------------------------------------------------------------ main
async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cfg = config(args.quick);
  // --warmup: the same warm-up for throughput, latency and handshakes, every server alike (e.g. to measure past start-up).
  if (args.warmupMs !== null) for (const sc of ['throughput', 'latency', 'handshakes']) cfg[sc].warmupMs = args.warmupMs;
  const runStart = Date.now();
  const skipped = {};
  let servers = args.servers.slice();
  if (servers.includes('statewire') && !fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) {
    skipped.statewire = 'dist/src/index.js not found (run `npm run build`)';
    log('skipping statewire: dist/src/index.js not found (run `npm run build` first)');
    servers = servers.filter((s) => s !== 'statewire');
  }
  if (servers.length === 0) die('no server to benchmark');
  if (args.only.includes('memory') && FD_LIMIT !== null && FD_LIMIT < cfg.memory.connections + 200) {
    log(
      `WARNING: the memory scenario opens ${cfg.memory.connections} connections, and each of the server and the ` +
        `load generator needs a file descriptor per connection, but \`ulimit -n\` is ${FD_LIMIT}: expect EMFILE ` +
        '(raise it in this shell; the harness changes no limits)',
    );
  }
  if (!servers.includes('ws')) log('raw ws is not in --servers: ratios will be empty');
  log(
    `${args.quick ? 'quick' : 'full'} run: servers ${servers.join(', ')}; scenarios ${args.only.join(', ')}; ` +
      `${cfg.reps} repetition(s); ${PIN ? `server on CPU ${PIN.server}, load on CPU ${PIN.load}` : 'no CPU pinning (taskset missing or 1 core)'}`,
  );

  const runs = [];
  let load = null;
  for (let rep = 0; rep < cfg.reps; rep++) {
    const records = {};
    for (const name of servers) {
      records[name] = { server: name, rep, results: {}, marks: {}, figures: {}, errors: {} };
      runs.push(records[name]);
    }
    for (const sc of args.only) {
      const o = cfg[sc];
      for (const name of servers) {
        const record = records[name];
        const t0 = Date.now();
        const srv = new ServerProc(name, sc); // a fresh server process for every scenario
        try {
          await srv.start();
          if (!load || load.child.exited) load = await new LoadProc().start();
          const target = { host: '127.0.0.1', port: srv.port, ...SERVER_TARGET[name] };
          const { result, marks } = await load.run(sc, target, o, srv, scenarioTimeout(sc, o));
          record.results[sc] = result;
          record.marks[sc] = marks;
          record.figures[sc] = derive(sc, result, marks);
          if (record.figures[sc].error) record.errors[sc] = record.figures[sc].error;
          if (srv.child.exited) record.errors[sc] = `server exited during the run (${srv.child.exitInfo})`;
          noteProblems(name, sc, result, o);
        } catch (err) {
          record.errors[sc] = err.message.split('\n')[0];
          if (load && /scenario/.test(err.message)) {
            killChild(load.child); // timed out or died: start a new one for the next scenario
            load = null;
          }
        } finally {
          await srv.stop();
          if (Object.keys(srv.errors).length) {
            record.serverErrors = record.serverErrors || {};
            record.serverErrors[sc] = srv.errors;
          }
        }
        const f = record.figures[sc];
        const what = record.errors[sc] && (!f || f.error) ? `ERROR ${record.errors[sc]}` : brief(sc, f);
        log(`rep ${rep + 1}/${cfg.reps} ${sc} ${name}: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }
  }
  if (load) await load.stop();

  const summary = summarize(runs, servers, cfg.reps);
  const out = table(summary, servers);
  console.log(out);
  const notes = footnotes(summary, servers, runs);
  if (notes.length) console.log('\n' + notes.join('\n'));

  const finished = new Date();
  const json = {
    startedAt: new Date(runStart).toISOString(),
    finishedAt: finished.toISOString(),
    elapsedSeconds: (finished.getTime() - runStart) / 1000,
    mode: args.quick ? 'quick' : 'full',
    argv: process.argv.slice(2),
    machine: {
      cpuModel: (os.cpus()[0] || {}).model,
      cores: CORES,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      totalMemMB: Math.round(os.totalmem() / 1048576),
      pinning: PIN,
      openFileLimit: FD_LIMIT === Infinity ? 'unlimited' : FD_LIMIT,
    },
    config: cfg,
    servers,
    scenarios: args.only,
    skipped,
    summary,
    runs,
    table: out,
  };
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${finished.toISOString().replace(/:/g, '-')}.json`);
  const text = JSON.stringify(json, null, 2) + '\n';
  fs.writeFileSync(file, text);
  fs.writeFileSync(path.join(dir, 'latest.json'), text);
  log(`results: ${path.relative(ROOT, file)} and bench/results/latest.json (${json.elapsedSeconds.toFixed(0)} s)`);
}

function brief(sc, f) {
  if (!f) return 'no result';
  if (f.error) return 'error: ' + f.error;
  switch (sc) {
    case 'throughput':
      return `${fmtNum(f.msgsPerSec, 0)} msgs/s, ${fmtNum(f.cpuPerMsgUs, 1)} us cpu/msg, server cpu ${pct(f.serverCpu)}, loadgen cpu ${pct(f.loadgenCpu)}`;
    case 'latency':
      return `p50 ${fmtNum(f.p50, 0)} us, p99 ${fmtNum(f.p99, 0)} us, p99.9 ${fmtNum(f.p999, 0)} us at ${fmtNum(f.achievedRate, 0)} msgs/s`;
    case 'memory':
      return `${fmtNum(f.rssKBPerConn, 1)} KB RSS, ${fmtNum(f.heapKBPerConn, 1)} KB heap per conn (${f.connections} conns${f.hibernated === undefined ? '' : `, ${f.hibernated} hibernating`})`;
    case 'handshakes':
      return `${fmtNum(f.perSec, 0)} handshakes/s, ${fmtNum(f.cpuPerHandshakeUs, 0)} us server cpu/handshake, ${fmtNum(f.retainedBytesPerHandshake, 0)} B heap held/handshake after, server cpu ${pct(f.serverCpu)}, loadgen cpu ${pct(f.loadgenCpu)}`;
    default:
      return '';
  }
}

function errText(obj) {
  return Object.entries(obj || {})
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
}

function noteProblems(server, sc, r, o) {
  if (!r) return;
  const open = errText(r.openErrors || (sc === 'handshakes' ? r.errors : null));
  if (open) {
    const emfile = /EMFILE|ENFILE/.test(open);
    log(
      `${server} ${sc}: connection failures: ${open}` +
        (emfile
          ? ` -- OUT OF FILE DESCRIPTORS (EMFILE) in the load generator: its \`ulimit -n\` is ${FD_LIMIT}; ` +
            'raise it for this shell (the harness changes no limits)'
          : ''),
    );
  }
  if (sc === 'memory' && r.opened < o.connections) {
    const bound = r.openMs >= o.openTimeoutMs - 50 ? ` (opening stopped at its ${o.openTimeoutMs / 1000} s bound)` : '';
    log(`${server} memory: only ${r.opened} of ${o.connections} connections opened${bound}; per-connection figures use the ${r.alive} alive`);
  }
  const late = errText(r.lateErrors);
  if (late && sc !== 'handshakes') log(`${server} ${sc}: connections dropped during the run: ${late}`);
}

function footnotes(summary, servers, runs) {
  const notes = [];
  const med = (s, k) => summary[s][k].median;
  if (servers.some((s) => med(s, 'throughput.loadgenCpu') !== null)) {
    const lg = servers.map((s) => `${LABEL[s]} ${pct(med(s, 'throughput.serverCpu'))} / ${pct(med(s, 'throughput.loadgenCpu'))}`);
    notes.push(`CPU during throughput, server / load generator (one core = 100%): ${lg.join(', ')}.`);
    if (servers.some((s) => (med(s, 'throughput.loadgenCpu') || 0) > 0.9)) {
      notes.push('WARNING: the load generator was near one full core; msgs/s may be limited by the client, not the server.');
    }
  }
  if (servers.some((s) => med(s, 'handshakes.loadgenCpu') !== null)) {
    const lg = servers.map((s) => `${LABEL[s]} ${pct(med(s, 'handshakes.loadgenCpu'))}`);
    notes.push(`Load generator CPU during handshakes: ${lg.join(', ')}.`);
  }
  if (servers.some((s) => med(s, 'handshakes.retainedBytesPerHandshake') !== null)) {
    const kept = servers.map((s) => `${LABEL[s]} ${fmtNum(med(s, 'handshakes.retainedBytesPerHandshake'), 0)} B`);
    notes.push(`Heap still held once the handshakes run's connections have ended (forced GC), per handshake: ${kept.join(', ')}.`);
  }
  for (const r of runs) {
    const m = r.results.memory;
    if (m && m.opened < m.requested) {
      notes.push(
        `${LABEL[r.server]} rep ${r.rep + 1}: memory used ${m.alive} connections, not ${m.requested} ` +
          `(${m.opened} opened in ${(m.openMs / 1000).toFixed(1)} s${Object.keys(m.openErrors || {}).length ? `; failures: ${errText(m.openErrors)}` : ''}).`,
      );
    }
  }
  const errs = runs.filter((r) => Object.keys(r.errors).length || r.serverErrors);
  for (const r of errs) {
    notes.push(`Errors in ${LABEL[r.server]} rep ${r.rep + 1}: ${JSON.stringify({ ...r.errors, ...(r.serverErrors ? { server: r.serverErrors } : {}) })}`);
  }
  return notes;
}

main().catch((err) => {
  console.error('[bench] fatal:', err && err.stack ? err.stack : err);
  killAll();
  process.exit(1);
});
