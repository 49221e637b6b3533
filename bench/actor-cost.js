'use strict';
// The floor under a connection: what XState itself costs per actor on this machine, in one process:
// time to start and to end, bytes held while alive, bytes allocated over a lifecycle (what the GC pays for).
// `npm run build && node --expose-gc bench/actor-cost.js`. Bounded: a fixed count of actors per figure.
const inspector = require('inspector');
const path = require('path');
const { createActor, createMachine } = require('xstate');
const dist = path.join(__dirname, '..', 'dist', 'machines');
const { connectionMachine } = require(path.join(dist, 'connection.machine.js'));
const { echoMachine } = require(path.join(dist, 'protocols', 'echo.machine.js'));

const N = 20_000;
const { indexDelayedEvents } = require(path.join(__dirname, '..', 'dist', 'src', 'actors', 'scheduler.js'));
const root = createActor(createMachine({}));
indexDelayedEvents(root.system); // as the server does: without it each stop walks every pending delay of the system
root.start();
const closed = { type: 'socket.closed', code: 1005, reason: '', counters: {} };

/**
 * Bytes allocated per actor lifecycle (start, then end), garbage included: V8's sampling heap profiler, keeping
 * the samples of objects collected since, over `count` lifecycles. An in-process inspector session answers
 * synchronously, so this stays a plain loop.
 */
function allocatedPerLifecycle(make, finish, count = 2_000) {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => {
    let result;
    session.post(method, params, (error, value) => {
      if (error) throw error;
      result = value;
    });
    return result;
  };
  post('HeapProfiler.enable');
  post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let i = 0; i < count; i++) finish(make(i));
  const { profile } = post('HeapProfiler.stopSampling');
  session.disconnect();
  let bytes = 0;
  const walk = (node) => {
    bytes += node.selfSize;
    node.children.forEach(walk);
  };
  walk(profile.head);
  return bytes / count;
}

/**
 * Microseconds per actor to `make` (start) and to `finish` (end) N actors after a warm-up, heap bytes each holds
 * alive in between, and kilobytes allocated per lifecycle.
 */
function measure(label, make, finish) {
  for (let i = 0; i < 2_000; i++) finish(make(i));
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const alive = [];
  for (let i = 0; i < N; i++) alive.push(make(i));
  const t1 = process.hrtime.bigint();
  global.gc?.();
  const heap = (process.memoryUsage().heapUsed - heap0) / N;
  const t2 = process.hrtime.bigint();
  for (const actor of alive) finish(actor);
  const t3 = process.hrtime.bigint();
  const us = (ns) => (Number(ns) / N / 1000).toFixed(1);
  const allocated = (allocatedPerLifecycle(make, finish) / 1024).toFixed(1);
  console.log(
    `${label.padEnd(44)} start ${us(t1 - t0).padStart(6)} us, end ${us(t3 - t2).padStart(6)} us, ` +
      `${global.gc ? heap.toFixed(0).padStart(6) + ' B alive' : '(run with --expose-gc for heap)'}, ${allocated.padStart(5)} KB allocated`,
  );
}

const bare = createMachine({ initial: 'a', states: { a: { on: { go: 'b' } }, b: { type: 'final' } } });
measure('bare child actor (start; final)', () => createActor(bare, { parent: root }).start(), (a) => a.send({ type: 'go' }));
// A bridge that does nothing: what the connection costs beyond its socket.
const socket = { send: () => undefined };
for (const [label, lazy] of [
  ['connection + echo (open; closed)', false],
  ['connection, lazy echo (open; closed)', true],
]) {
  const logic = connectionMachine.provide({ actors: { protocol: echoMachine }, guards: { startsLazily: () => lazy } });
  measure(
    label,
    (i) => {
      const actor = createActor(logic, { parent: root, input: { id: `c${i}`, transport: null, socket } }).start();
      actor.send({ type: 'socket.open' });
      return actor;
    },
    (actor) => actor.send(closed),
  );
}
