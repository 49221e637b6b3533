import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** A transition as the inspector page draws it: its trigger and target state paths (none: it only runs actions). */
export interface TransitionView {
  label: string;
  targets: string[];
}

/** One state node of a machine, as JSON the inspector page renders as nested boxes. */
export interface StateTree {
  key: string;
  /** Dotted path from the root (`open.heartbeat.idle`); `''` for the root. */
  path: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Key of the initial child of a compound state. */
  initial?: string;
  transitions: TransitionView[];
  states: StateTree[];
}

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String(guard.type);
  return 'guard';
}

function transitionsOf(node: AnyStateNode): TransitionView[] {
  const delays = new Map<AnyTransitionDefinition, unknown>(node.after.map((t) => [t, t.delay]));
  const trigger = (t: AnyTransitionDefinition): string => {
    if (delays.has(t)) {
      const delay = delays.get(t);
      return `after ${typeof delay === 'number' ? `${delay}ms` : String(delay)}`;
    }
    const type = String(t.eventType);
    const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
    if (actor) return `${actor[1]}: ${actor[2]}`;
    return type.startsWith('xstate.done.state.') ? 'done' : type;
  };
  const all: Array<[AnyTransitionDefinition, string]> = [
    ...[...node.transitions.values()].flat().map((t): [AnyTransitionDefinition, string] => [t, trigger(t)]),
    ...(node.always ?? []).map((t): [AnyTransitionDefinition, string] => [t, 'always']),
  ];
  return all.map(([t, label]) => ({
    label: t.guard === undefined ? label : `${label} [${guardName(t.guard)}]`,
    targets: (t.target ?? []).map((target: AnyStateNode) => target.path.join('.')),
  }));
}

/**
 * Describes a machine's state tree, with every transition's trigger and
 * targets, in definition order: what the inspector page needs to draw the
 * machine and highlight its current states.
 *
 * @example
 * describeMachine(connectionMachine).states.map((s) => s.key);
 * // ['connecting', 'open', 'closing', 'terminating', 'closed']
 */
export function describeMachine(machine: AnyStateMachine): StateTree {
  const visit = (node: AnyStateNode): StateTree => {
    const states = (Object.values(node.states) as AnyStateNode[]).map(visit);
    const initial = node.type === 'compound' ? node.initial.target[0]?.key : undefined;
    return {
      key: node.key,
      path: node.path.join('.'),
      type: node.type,
      ...(initial === undefined ? {} : { initial }),
      transitions: transitionsOf(node),
      states,
    };
  };
  return visit(machine.root);
}
