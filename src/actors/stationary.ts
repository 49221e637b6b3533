import type { AnyActorRef, EventObject } from 'xstate';

/**
 * Stationary transitions, run as the functions they are.
 *
 * A protocol's transition that has no target, no guard, and no action but
 * `emit` (echo's, and any stateless request/response protocol's) cannot
 * change the actor's state or context: taking it means computing the events
 * it emits and handing them to the actor's listeners. XState's interpreter
 * gets there through its whole macrostep (exit and entry sets, eventless
 * transitions, a snapshot, inspection events), which at one message per socket
 * read is most of statewire's cost of a message. `deliverDirect` takes such a
 * transition directly, with the same result for the same listeners: the same
 * events, in the same order, from the same `emit` expressions and params, and
 * the same snapshot (untouched).
 *
 * Everything else goes to the interpreter with `actor.send`: another kind of
 * transition, a guard (the choice would depend on the event), a wildcard that
 * could match, an eventless transition in the configuration (it is re-checked
 * after every event), parallel regions, an actor that is busy (its mailbox is
 * not empty: the event must queue behind), not running, or observed (a
 * snapshot observer is told of every event), and an `emit` expression that
 * throws (the interpreter runs it again and fails the actor, as it would
 * have). The caller also keeps every event on the interpreter while an
 * inspection observer watches the system, which sees each event.
 *
 * It reads XState 5.33's actor internals (xstate is pinned to that version);
 * an actor without them is always interpreted.
 */

/** What of an actor's and a machine's internals this module reads. */
interface ActorInternals {
  _processingStatus: number;
  _snapshot: { status: string; context: unknown; _nodes?: readonly StateNodeInternals[]; machine?: MachineInternals };
  observers: { size: number };
  mailbox: { _current: unknown };
  _actorScope: { emit(event: EventObject): void };
  system: unknown;
}

interface StateNodeInternals {
  type: string;
  parent?: StateNodeInternals;
  always?: readonly unknown[];
  transitions: ReadonlyMap<string, readonly TransitionInternals[]>;
}

interface TransitionInternals {
  target?: unknown;
  guard?: unknown;
  actions: readonly unknown[];
}

interface MachineInternals {
  implementations: { actions: Record<string, unknown> };
}

interface EmitAction {
  (...args: never[]): void;
  type: 'xstate.emit';
  event: EventObject | ((args: EmitArgs, params: unknown) => EventObject);
}

interface EmitArgs {
  context: unknown;
  event: EventObject;
  self: AnyActorRef;
  system: unknown;
}

/** One `emit` of a stationary transition: its event, or its expression, with its params as written. */
interface Emitter {
  event: EmitAction['event'];
  params: unknown;
}

/** XState's `ProcessingStatus.Running`. */
const RUNNING = 1;

/** A stationary transition's emitters, by leaf state node and event type; null where the interpreter must run. */
const plans = new WeakMap<StateNodeInternals, Map<string, readonly Emitter[] | null>>();

/**
 * Takes `event` to `actor` directly when its transition is stationary (see
 * above); false when it did not, and the caller sends it to the interpreter.
 */
export function deliverDirect(actor: AnyActorRef, event: EventObject): boolean {
  const internals = actor as unknown as ActorInternals;
  if (internals._processingStatus !== RUNNING || internals.mailbox?._current !== null || internals.observers?.size !== 0) return false;
  const snapshot = internals._snapshot;
  if (snapshot.status !== 'active' || snapshot._nodes === undefined || snapshot.machine === undefined) return false;
  const leaf = atomicLeaf(snapshot._nodes);
  if (leaf === null) return false;
  const plan = planFor(leaf, snapshot.machine, event.type);
  if (plan === null) return false;
  if (plan.length === 0) return true;
  // As XState does: every emit's event is computed before any is emitted, so one that throws emits none.
  const args: EmitArgs = { context: snapshot.context, event, self: actor, system: internals.system };
  let emitted: EventObject[];
  try {
    emitted = plan.map(({ event: eventOrExpr, params }) =>
      typeof eventOrExpr === 'function' ? eventOrExpr(args, typeof params === 'function' ? params({ context: snapshot.context, event }) : params) : eventOrExpr,
    );
  } catch {
    return false;
  }
  for (const e of emitted) internals._actorScope.emit(e);
  return true;
}

/** The configuration's only atomic state node; null with parallel regions or none. */
function atomicLeaf(nodes: readonly StateNodeInternals[]): StateNodeInternals | null {
  let leaf: StateNodeInternals | null = null;
  for (const node of nodes) {
    if (node.type !== 'atomic' && node.type !== 'final') continue;
    if (leaf !== null) return null;
    leaf = node;
  }
  return leaf?.type === 'atomic' ? leaf : null;
}

function planFor(leaf: StateNodeInternals, machine: MachineInternals, type: string): readonly Emitter[] | null {
  let byType = plans.get(leaf);
  if (byType === undefined) plans.set(leaf, (byType = new Map()));
  let plan = byType.get(type);
  if (plan === undefined) byType.set(type, (plan = computePlan(leaf, machine, type)));
  return plan;
}

/**
 * XState's selection, from the leaf up to the root: the first node with a
 * candidate for the event type decides; its exact-match candidates come
 * before its wildcards, and the first whose guard passes is taken.
 */
function computePlan(leaf: StateNodeInternals, machine: MachineInternals, type: string): readonly Emitter[] | null {
  for (let node: StateNodeInternals | undefined = leaf; node !== undefined; node = node.parent) {
    if (node.always !== undefined && node.always.length > 0) return null;
  }
  for (let node: StateNodeInternals | undefined = leaf; node !== undefined; node = node.parent) {
    const exact = node.transitions.get(type);
    if (exact !== undefined && exact.length > 0) {
      const [first] = exact;
      if (first!.guard !== undefined) return null;
      return first!.target === undefined ? emitters(first!.actions, machine) : null;
    }
    for (const descriptor of node.transitions.keys()) if (descriptor === '*' || descriptor.endsWith('.*')) return null;
  }
  // No transition takes the event: the interpreter would do nothing.
  return [];
}

/** The transition's actions as emitters; null unless every one is an `emit`. */
function emitters(actions: readonly unknown[], machine: MachineInternals): readonly Emitter[] | null {
  const out: Emitter[] = [];
  for (const action of actions) {
    const named = typeof action === 'string' ? action : typeof action === 'object' && action !== null ? (action as { type?: unknown }).type : undefined;
    const resolved = typeof action === 'function' ? action : typeof named === 'string' ? machine.implementations.actions[named] : undefined;
    if (typeof resolved !== 'function' || (resolved as Partial<EmitAction>).type !== 'xstate.emit') return null;
    const params = typeof action === 'object' && action !== null && 'params' in action ? (action as { params: unknown }).params : undefined;
    out.push({ event: (resolved as EmitAction).event, params });
  }
  return out;
}

/** How many inspection observers watch an actor system (`watchInspection` keeps it). */
export interface Inspection {
  observers: number;
}

type Inspectable = AnyActorRef['system'];

/**
 * Counts into `inspection` (which starts with the observers given as the root
 * actor's `inspect` option) every observer `system.inspect` adds, until it
 * unsubscribes. Each sees every event while it watches.
 */
export function watchInspection(system: Inspectable, inspection: Inspection): void {
  const inspect = system.inspect.bind(system);
  system.inspect = (observer) => {
    const subscription = inspect(observer);
    inspection.observers++;
    let watching = true;
    return {
      unsubscribe: () => {
        if (watching) inspection.observers--;
        watching = false;
        subscription.unsubscribe();
      },
    };
  };
}
