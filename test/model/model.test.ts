import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { AnyStateMachine, EventObject } from 'xstate';
import { builtinProtocols } from '../../src/protocols';
import { connectionSpec } from './connection.model';
import { runPaths, sample, shortestPaths, simplePaths, uncovered, type Implementation, type ModelSpec, type RunResult } from './harness';
import { echoReplies, oneReplyPerRequest, protocolSpec, type ProtocolModelOptions } from './protocol.model';
import { replyDeadlineSpec } from './reply-deadline.model';
import { supervisorSpec } from './supervisor.model';

const MACHINES = resolve(__dirname, '..', '..', 'machines');
/** Simple paths run per spec: all of them up to this many, else an even sample (the shortest paths alone take every transition). */
const MAX_SIMPLE_PATHS = 600;

/** Model specs by machine id, several where one input cannot reach every transition. A protocol machine without one gets the generic protocol spec. */
const SPECS: Record<string, () => Record<string, ModelSpec<Implementation>>> = {
  connection: () => ({
    'without authentication': connectionSpec({ authenticate: false }) as unknown as ModelSpec<Implementation>,
    'with an authenticate hook': connectionSpec({ authenticate: true }) as unknown as ModelSpec<Implementation>,
    'with a lazy protocol': connectionSpec({ authenticate: false, lazy: true }) as unknown as ModelSpec<Implementation>,
    'where quiet connections hibernate': connectionSpec({ authenticate: false, hibernate: true }) as unknown as ModelSpec<Implementation>,
    'with a lazy protocol, hibernating': connectionSpec({ authenticate: false, lazy: true, hibernate: true }) as unknown as ModelSpec<Implementation>,
    'waking from hibernation': connectionSpec({ authenticate: false, resume: true, hibernate: true }) as unknown as ModelSpec<Implementation>,
  }),
  supervisor: () => ({ '': supervisorSpec as unknown as ModelSpec<Implementation> }),
  replyDeadline: () => ({ '': replyDeadlineSpec as unknown as ModelSpec<Implementation> }),
};

/** What protocol specs need beyond the generic one: inbound messages that reach every transition, and oracles. */
const PROTOCOLS: Record<string, ProtocolModelOptions> = {
  echo: { batches: [['hello'], ['a', 'b'], ['']], check: echoReplies },
  topics: {
    maxTopics: 1,
    messages: [
      { type: 'subscribe', topic: 'room:1', ref: '1' },
      { type: 'subscribe', topic: 'room:2', ref: 2 },
      { type: 'subscribe', topic: '', ref: '3' },
      { type: 'unsubscribe', topic: 'room:1', ref: '4' },
      { type: 'unsubscribe', topic: 7, ref: '5' },
      { type: 'publish', topic: 'room:1', payload: { n: 1 }, ref: '6' },
      { type: 'publish', topic: 'x'.repeat(257), ref: '7' },
      { type: 'ping', ref: '8' },
      { type: 'nope' },
    ],
    check: oneReplyPerRequest,
  },
};

function isMachine(value: unknown): value is AnyStateMachine {
  return typeof value === 'object' && value !== null && 'root' in value && 'provide' in value && 'getInitialSnapshot' in value;
}

/** Every machine exported by a `*.machine.ts` file under machines/. */
function discoverMachines(): { file: string; machine: AnyStateMachine }[] {
  const files = (readdirSync(MACHINES, { recursive: true }) as string[]).filter((f) => f.endsWith('.machine.ts')).sort();
  return files.flatMap((file) =>
    Object.values(jest.requireActual<Record<string, unknown>>(join(MACHINES, file)))
      .filter(isMachine)
      .map((machine) => ({ file: relative(resolve(MACHINES, '..'), join(MACHINES, file)), machine })),
  );
}

function specsFor(file: string, machine: AnyStateMachine): Record<string, ModelSpec<Implementation>> | undefined {
  const known = SPECS[machine.id];
  if (known !== undefined) return known();
  if (file.startsWith(join('machines', 'protocols'))) {
    const codec = Object.values(builtinProtocols).find((p) => p.machine.id === machine.id)?.codec;
    return { '': protocolSpec(machine, { codec, ...PROTOCOLS[machine.id] }) as unknown as ModelSpec<Implementation> };
  }
  return undefined;
}

/** Fails with the first few diverging paths, each with the step where the implementation left the model. */
function expectNoDivergence(result: RunResult): void {
  if (result.failures.length === 0) return;
  const shown = result.failures.slice(0, 5).join('\n  ');
  throw new Error(`${result.failures.length} of ${result.paths} paths diverge from the model; the first:\n  ${shown}`);
}

const machines = discoverMachines();

it('finds every machine in machines/', () => {
  expect(machines.map((m) => m.machine.id)).toEqual(expect.arrayContaining(['connection', 'supervisor', 'echo']));
});

describe.each(machines.map((m) => [`${m.machine.id} machine (${m.file})`, m] as const))('%s', (_name, { file, machine }) => {
  const specs = specsFor(file, machine);
  if (specs === undefined) {
    it('has a model spec', () => {
      throw new Error(`${file} exports machine "${machine.id}", which has no model spec: add one to SPECS in test/model/model.test.ts`);
    });
    return;
  }
  const runs = Object.entries(specs).map(([variant, spec]) => {
    const descriptorOf = new WeakMap<EventObject, string>();
    let shortest: RunResult | undefined;
    let simple: RunResult | undefined;
    return {
      variant: variant === '' ? '' : ` (${variant})`,
      spec,
      shortest: (): RunResult => (shortest ??= runPaths(spec, shortestPaths(spec, descriptorOf), descriptorOf)),
      simple: (): RunResult => (simple ??= runPaths(spec, sample(simplePaths(spec, descriptorOf), MAX_SIMPLE_PATHS), descriptorOf)),
    };
  });

  for (const run of runs) {
    it(`reaches the model's state at every step of the shortest path to every transition${run.variant}`, () => {
      const result = run.shortest();
      expect(result.paths).toBeGreaterThan(0);
      expectNoDivergence(result);
    });

    it(`reaches the model's state at every step of the simple paths (up to ${MAX_SIMPLE_PATHS})${run.variant}`, () => {
      expectNoDivergence(run.simple());
    });
  }

  it('takes every transition of the machine on some generated path', () => {
    const covered = new Set(runs.flatMap((run) => [...run.shortest().covered, ...run.simple().covered]));
    expect(uncovered(runs.map((run) => run.spec), covered)).toEqual([]);
  });
});
