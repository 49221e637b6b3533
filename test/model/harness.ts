import { isDeepStrictEqual } from 'node:util';
import { __unsafe_getAllOwnEventDescriptors as ownEventDescriptors, createEmptyActor } from 'xstate';
import type { ActorScope, AnyActorLogic, AnyMachineSnapshot, AnyStateMachine, AnyStateNode, AnyTransitionDefinition, EventObject, InspectionEvent } from 'xstate';
import { getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import type { SteppingClock } from '../../src/testing';

/**
 * Model-based testing of statewire's machines.
 *
 * The model is the machine definition itself, provided with inert actors and
 * traversed as a pure transition function by `xstate/graph`. Timers are
 * explicit events in the model (`xstate.after.<delay>.<state>`, which the
 * traversal sends like any other event: `createTestModel` refuses machines
 * with `after` and `invoke`, the path generators do not), and the
 * implementation (the real machine with `.provide()` fakes, on a
 * `SteppingClock`) is driven through every generated path: a timer event
 * advances the simulated clock by its delay, one millisecond short first to
 * check that nothing fires early. After every step the implementation's
 * observable state must equal the model's.
 */

/** One transition of a machine, as the coverage check names it. */
export interface TransitionInfo {
  key: string;
  label: string;
}

/** The running implementation a spec drives: anything with a simulated clock. */
export interface Implementation {
  clock: SteppingClock;
}

export interface ModelSpec<TImpl extends Implementation> {
  /** The machine under test, as defined in `machines/`. */
  machine: AnyStateMachine;
  /** The same machine with inert actors: the model the paths are generated from (see `withParent`). */
  model: AnyActorLogic;
  input?: unknown;
  /** The delays the implementation is provided with, by name. */
  delays: Record<string, number>;
  /** Concrete model events for an event descriptor the snapshot accepts; default `[{ type: descriptor }]`. */
  events?: Record<string, (snapshot: AnyMachineSnapshot) => EventObject[]>;
  /** How the implementation is made to receive each event descriptor (timers are handled by the harness). */
  exec: Record<string, (impl: TImpl, event: EventObject) => void>;
  /** How it receives any other event; without it, events with no executor are not offered (and their transitions show as uncovered). */
  execOther?: (impl: TImpl, event: EventObject) => void;
  /** The model's observable state, compared with the implementation's after every step. */
  abstract(snapshot: AnyMachineSnapshot): unknown;
  /** Starts a fresh implementation whose actors report to `inspect`. */
  start(inspect: (event: InspectionEvent) => void): TImpl;
  observe(impl: TImpl): unknown;
  /** A per-step check beyond the state, e.g. what a protocol sent. */
  check?(impl: TImpl, event: EventObject, before: AnyMachineSnapshot, after: AnyMachineSnapshot): void;
}

const AFTER = /^xstate\.after\.([^.]+)\./;

/** The entry for an event descriptor: exact, else the longest key ending in `.*` that prefixes it (e.g. `xstate.done.actor.*`). */
function lookup<T>(record: Record<string, T> | undefined, descriptor: string): T | undefined {
  if (record === undefined) return undefined;
  if (Object.hasOwn(record, descriptor)) return record[descriptor];
  const keys = Object.keys(record).filter((key) => key.endsWith('.*') && descriptor.startsWith(key.slice(0, -1)));
  const key = keys.sort((a, b) => b.length - a.length)[0];
  return key === undefined ? undefined : record[key];
}

function allStateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => allStateNodes(child as AnyStateNode))];
}

/** The key of one transition: its source, its event descriptor (or `always`) and its index among the source's transitions for it. */
function keyOf(t: AnyTransitionDefinition): string {
  const always = t.source.always ?? [];
  const index = always.includes(t) ? always.indexOf(t) : (t.source.transitions.get(t.eventType) ?? []).indexOf(t);
  return `${t.source.id} ${always.includes(t) ? 'always' : t.eventType} #${index}`;
}

function describeEvent(type: string): string {
  const after = AFTER.exec(type);
  return after === null ? type : `after ${after[1]}`;
}

function labelOf(t: AnyTransitionDefinition): string {
  const always = (t.source.always ?? []).includes(t);
  const guard = typeof t.guard === 'string' ? ` [${t.guard}]` : t.guard === undefined ? '' : ' [inline guard]';
  const targets = t.target === undefined ? '(stays)' : t.target.map((n) => n.id).join(', ');
  return `${t.source.id} --${always ? 'always' : describeEvent(t.eventType)}${guard}--> ${targets}`;
}

/** Every transition of a machine: each `on`, `after`, `always` (and invoke `onDone`/`onError`) of every state node, the root's included. */
export function transitionsOf(machine: AnyStateMachine): TransitionInfo[] {
  return allStateNodes(machine.root).flatMap((node) =>
    [...[...node.transitions.values()].flat(), ...(node.always ?? [])].map((t) => ({ key: keyOf(t), label: labelOf(t) })),
  );
}

/** The label of each key, for reporting. */
function labels(machine: AnyStateMachine): Map<string, string> {
  return new Map(transitionsOf(machine).map((t) => [t.key, t.label]));
}

type Path = StatePath<AnyMachineSnapshot, EventObject>;

/**
 * The machine as a model for an actor that is always somebody's child: the
 * traversal's actor scope has no parent, so `sendParent` would throw there.
 * This gives it one that ignores what it is sent.
 */
export function withParent(machine: AnyStateMachine): AnyActorLogic {
  const parent = createEmptyActor();
  const scoped = (scope: ActorScope<never, never>) => ({ ...scope, self: Object.assign(Object.create(scope.self) as object, { _parent: parent }) });
  return {
    transition: (snapshot: never, event: never, scope: ActorScope<never, never>) => machine.transition(snapshot, event, scoped(scope) as never),
    getInitialSnapshot: (scope: ActorScope<never, never>, input: unknown) => machine.getInitialSnapshot(scoped(scope) as never, input),
    getPersistedSnapshot: (snapshot: never) => machine.getPersistedSnapshot(snapshot),
  } as unknown as AnyActorLogic;
}

function traversalOptions<TImpl extends Implementation>(spec: ModelSpec<TImpl>, descriptorOf: WeakMap<EventObject, string>) {
  return {
    input: spec.input,
    events: (snapshot: AnyMachineSnapshot): EventObject[] => {
      if (snapshot.status !== 'active') return [];
      return ownEventDescriptors(snapshot).flatMap((descriptor: string) => {
        if (AFTER.test(descriptor)) return [{ type: descriptor }];
        if (lookup(spec.exec, descriptor) === undefined && spec.execOther === undefined) return [];
        const events = lookup(spec.events, descriptor)?.(snapshot) ?? [{ type: descriptor }];
        for (const event of events) descriptorOf.set(event, descriptor);
        return events;
      });
    },
  };
}

/** Paths from the initial state: the shortest one to every (state, incoming transition) pair, so that every transition ends one of them. */
export function shortestPaths<TImpl extends Implementation>(spec: ModelSpec<TImpl>, descriptorOf: WeakMap<EventObject, string>): Path[] {
  const base = (s: AnyMachineSnapshot): string => JSON.stringify(spec.abstract(s));
  return getShortestPaths(spec.model, {
    ...traversalOptions(spec, descriptorOf),
    serializeState: (s: AnyMachineSnapshot, event: EventObject | undefined, prev?: AnyMachineSnapshot) =>
      `${base(s)} via ${event === undefined ? '' : JSON.stringify(event)} from ${prev === undefined ? '' : base(prev)}`,
  } as never) as Path[];
}

/** Every simple path (no state visited twice) from the initial state to every state. */
export function simplePaths<TImpl extends Implementation>(spec: ModelSpec<TImpl>, descriptorOf: WeakMap<EventObject, string>): Path[] {
  // States are told apart by everything compared: the steps of a path are the states the traversal stored under each key.
  const serializeState = (s: AnyMachineSnapshot): string => JSON.stringify(spec.abstract(s));
  return getSimplePaths(spec.model, { ...traversalOptions(spec, descriptorOf), serializeState } as never) as Path[];
}

/**
 * At most `max` of `paths`, spread evenly over them (every k-th), the same
 * ones on every run. A machine with parallel regions has thousands of simple
 * paths that differ only in how the regions' events interleave.
 */
export function sample<T>(paths: T[], max: number): T[] {
  if (paths.length <= max) return paths;
  const stride = paths.length / max;
  return Array.from({ length: max }, (_, i) => paths[Math.floor(i * stride)]);
}

export function describePath(path: Path): string {
  return path.steps.slice(1).map((step) => describeEvent(step.event.type)).join(' → ') || '(initial state)';
}

export interface RunResult {
  paths: number;
  steps: number;
  failures: string[];
  /** Keys of the transitions the implementation took. */
  covered: Set<string>;
}

/** Drives a fresh implementation through each path, comparing its observable state with the model's after every step. */
export function runPaths<TImpl extends Implementation>(spec: ModelSpec<TImpl>, paths: Path[], descriptorOf: WeakMap<EventObject, string>): RunResult {
  const result: RunResult = { paths: paths.length, steps: 0, failures: [], covered: new Set() };
  const rootId = spec.machine.root.id;
  const inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep') return;
    for (const t of event._transitions) if (t.source.machine.root.id === rootId) result.covered.add(keyOf(t));
  };
  for (const path of paths) {
    const impl = spec.start(inspect);
    const fail = (index: number, what: string): void => void result.failures.push(`${describePath(path)}\n    step ${index}: ${what}`);
    const compare = (index: number, expected: AnyMachineSnapshot, when: string): boolean => {
      const actual = spec.observe(impl);
      const wanted = spec.abstract(expected);
      if (isDeepStrictEqual(actual, wanted)) return true;
      fail(index, `${when}: the implementation is in ${JSON.stringify(actual)}, the model in ${JSON.stringify(wanted)}`);
      return false;
    };
    if (!compare(0, path.steps[0].state, 'at the start')) continue;
    for (let i = 1; i < path.steps.length; i++) {
      const { event, state } = path.steps[i];
      const before = path.steps[i - 1].state;
      result.steps++;
      const after = AFTER.exec(event.type);
      try {
        if (after !== null) {
          const delay = spec.delays[after[1]];
          if (delay === undefined) throw new Error(`no value for delay ${after[1]} in the spec`);
          impl.clock.advance(delay - 1);
          if (!compare(i, before, `1 ms before ${after[1]} is due`)) break;
          impl.clock.advance(1);
        } else {
          const descriptor = descriptorOf.get(event) ?? event.type;
          const exec = lookup(spec.exec, descriptor) ?? spec.execOther;
          if (exec === undefined) throw new Error(`no executor for ${descriptor}`);
          exec(impl, event);
        }
        spec.check?.(impl, event, before, state);
      } catch (error) {
        fail(i, `${describeEvent(event.type)} threw ${(error as Error).stack ?? String(error)}`);
        break;
      }
      if (!compare(i, state, `after ${describeEvent(event.type)}`)) break;
    }
  }
  return result;
}

/** The transitions of the machine that no run of its specs took, labelled, with the event descriptors no executor handles. */
export function uncovered<TImpl extends Implementation>(specs: ModelSpec<TImpl> | ModelSpec<TImpl>[], covered: ReadonlySet<string>): string[] {
  const all = Array.isArray(specs) ? specs : [specs];
  const spec = all[0];
  const missing: string[] = [];
  for (const [key, label] of labels(spec.machine)) {
    if (covered.has(key)) continue;
    const descriptor = key.split(' ')[1];
    const driven = all.some((s) => lookup(s.exec, descriptor) !== undefined || s.execOther !== undefined);
    const hint = descriptor === 'always' || AFTER.test(descriptor) || driven ? '' : ` (no executor for "${descriptor}" in the model spec)`;
    missing.push(`${label}${hint}`);
  }
  return missing;
}
