import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * Renders an XState v5 machine as a Mermaid `stateDiagram-v2`.
 *
 * What it draws, in definition order (so the output is deterministic):
 * - compound states as `state id { ... }` blocks with their own `[*] --> initial`;
 * - parallel states as blocks whose regions are separated by `--`;
 * - final states as `id --> [*]`, history states labelled `H` / `H*`;
 * - one edge per transition target, labelled by its trigger:
 *   `EVENT`, `EVENT [guard]`, `*`, `always [guard]`, `after 500ms`,
 *   `after heartbeatInterval` (named delay from `setup`), `done: actorId`,
 *   `error: actorId`, `snapshot: actorId`, `done` (state `onDone`);
 *   inline guard functions show as `[guard]`, `and`/`or`/`not` are spelled out;
 * - transitions declared on the machine root start from an `(any state)` node.
 *
 * Targetless transitions (actions only) are drawn as self-loops labelled
 * with their actions (`EVENT [guard] / action`), as is a transition whose
 * target is its own source. Node ids are the state
 * path joined with `_` (`open.idle` → `open_idle`), labelled with
 * `state "idle" as open_idle` whenever the id is not the bare key. Label
 * characters that Mermaid's grammar reserves (`:`, `;`, `#`, `"`) are written
 * as Mermaid entity codes (`#58;` …), which render as the original character.
 * Edges between children of the same compound state are written in its
 * block; any other edge is written at the top level, after all blocks, so
 * that Mermaid never re-parents a node.
 *
 * @example
 * toMermaid(setup({}).createMachine({
 *   initial: 'idle',
 *   states: { idle: { on: { GO: 'done' } }, done: { type: 'final' } },
 * }));
 * // stateDiagram-v2
 * //   [*] --> idle
 * //   idle --> done : GO
 * //   done --> [*]
 */
export function toMermaid(machine: AnyStateMachine): string {
  const ids = assignIds(machine.root);
  const lines = ['stateDiagram-v2'];
  const topLevel: string[] = [];
  const drawBlock = (node: AnyStateNode, depth: number): void => {
    const pad = '  '.repeat(depth);
    const kids = childrenOf(node);
    if (node.type === 'compound') {
      for (const t of node.initial.target) lines.push(`${pad}[*] --> ${ids.get(t)}`);
    }
    kids.forEach((child, i) => {
      const id = ids.get(child)!;
      if (i > 0 && node.type === 'parallel' && node.parent) lines.push(`${pad}--`);
      const label = child.type === 'history' ? (child.history === 'deep' ? 'H*' : 'H') : child.key;
      if (id !== label) lines.push(`${pad}state "${escape(label)}" as ${id}`);
      else if (!isBlock(child)) lines.push(`${pad}${id}`);
      if (isBlock(child)) {
        lines.push(`${pad}state ${id} {`);
        drawBlock(child, depth + 1);
        lines.push(`${pad}}`);
      }
    });
    const local = node.type !== 'parallel' || !node.parent;
    for (const child of kids) {
      if (child.type === 'final' && local) lines.push(`${pad}${ids.get(child)} --> [*]`);
      for (const [target, label] of edgesOf(child)) {
        const edge = `${ids.get(child)} --> ${ids.get(target)} : ${label}`;
        if (local && target.parent === node) lines.push(pad + edge);
        else topLevel.push(`  ${edge}`);
      }
    }
  };
  drawBlock(machine.root, 1);
  const rootEdges = edgesOf(machine.root);
  if (rootEdges.length > 0) {
    const anyId = ids.get(machine.root)!;
    lines.push(`  state "(any state)" as ${anyId}`);
    for (const [target, label] of rootEdges) topLevel.push(`  ${anyId} --> ${ids.get(target)} : ${label}`);
  }
  return [...lines, ...topLevel].join('\n') + '\n';
}

/** Child state nodes in definition order. */
function childrenOf(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[];
}

/** Compound and parallel states are drawn as `state id { ... }` blocks. */
function isBlock(node: AnyStateNode): boolean {
  return node.type === 'compound' || node.type === 'parallel';
}

/** Words Mermaid's state-diagram lexer treats as keywords at the start of a line. */
const RESERVED = /^(state|note|class|classdef|scale|style|hide|direction|default.*)$/i;

/**
 * Gives every state node a unique Mermaid id: its path joined with `_`, made of
 * `[A-Za-z0-9_]` only, suffixed with `_` on collision. Mermaid names the
 * pseudo-states of a block `<id>_start` / `<id>_end`, so those are reserved too.
 * The root gets the id of the `(any state)` node, allocated last.
 */
function assignIds(root: AnyStateNode): Map<AnyStateNode, string> {
  const ids = new Map<AnyStateNode, string>();
  const used = new Set<string>(['root_start', 'root_end']);
  const allocate = (node: AnyStateNode, base: string, block: boolean): void => {
    let id = base.replace(/[^A-Za-z0-9_]/g, '_');
    if (RESERVED.test(id)) id = `_${id}`;
    while (used.has(id) || (block && (used.has(`${id}_start`) || used.has(`${id}_end`)))) id += '_';
    used.add(id);
    if (block) used.add(`${id}_start`).add(`${id}_end`);
    ids.set(node, id);
  };
  const visit = (node: AnyStateNode): void => {
    for (const child of childrenOf(node)) {
      allocate(child, child.path.join('_'), isBlock(child));
      visit(child);
    }
  };
  visit(root);
  allocate(root, '_any', false);
  return ids;
}

/** Every (target, label) pair drawn for the transitions declared on `node`. */
function edgesOf(node: AnyStateNode): Array<[AnyStateNode, string]> {
  const delays = new Map<AnyTransitionDefinition, unknown>(node.after.map((t) => [t, t.delay]));
  const invokeNames = new Map<string, string>(
    node.invoke.map((inv, i): [string, string] => {
      const src = typeof inv.src === 'string' ? inv.src : 'xstate.invoke.';
      const generated = inv.id === `${i}.${node.id}` && !src.startsWith('xstate.invoke.');
      return [inv.id, generated ? src : inv.id];
    }),
  );
  const trigger = (t: AnyTransitionDefinition): string => {
    if (delays.has(t)) {
      const delay = delays.get(t);
      return `after ${typeof delay === 'number' ? `${delay}ms` : typeof delay === 'string' ? delay : 'delay'}`;
    }
    const type = String(t.eventType);
    const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type) ?? /^xstate\.(snapshot)\.(.+)$/.exec(type);
    if (actor) return `${actor[1]}: ${invokeNames.get(actor[2]) ?? actor[2]}`;
    if (type.startsWith('xstate.done.state.')) return 'done';
    return type === 'xstate.route' ? 'route' : type;
  };
  const all = [
    ...[...node.transitions.values()].flat().map((t): [AnyTransitionDefinition, string] => [t, trigger(t)]),
    ...(node.always ?? []).map((t): [AnyTransitionDefinition, string] => [t, 'always']),
  ];
  const edges: Array<[AnyStateNode, string]> = [];
  for (const [t, trig] of all) {
    const guard = t.guard === undefined || trig === 'route' ? '' : ` [${guardName(t.guard)}]`;
    const targets = t.target ?? [];
    // A targetless transition is behaviour too (a protocol is mostly made of them): a self-loop naming its actions.
    if (targets.length === 0) edges.push([node, escape(`${trig}${guard}${actionsLabel(t.actions)}`)]);
    for (const target of targets) edges.push([target, escape(trig + guard)]);
  }
  return edges;
}

/** ` / a, b` for named actions; inline functions show as `action`. */
function actionsLabel(actions: readonly unknown[]): string {
  const names = actions.map((a) =>
    typeof a === 'string' ? a : typeof a === 'object' && a !== null && 'type' in a ? String((a as { type: unknown }).type) : 'action',
  );
  return names.length === 0 ? '' : ` / ${names.join(', ')}`;
}

/** `'isOpen'` / `{ type: 'isOpen' }` → `isOpen`; `and`/`or`/`not` spelled out; inline functions → `guard`. */
function guardName(guard: unknown, nested = false): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String(guard.type);
  const fn = guard as { name?: string; guards?: unknown[]; stateValue?: unknown };
  if (typeof guard === 'function' && Array.isArray(fn.guards)) {
    const parts = fn.guards.map((g) => guardName(g, true));
    if (fn.name === 'not') return `not ${parts[0]}`;
    const joined = parts.join(` ${fn.name} `);
    if (fn.name === 'and' || fn.name === 'or') return nested ? `(${joined})` : joined;
  }
  // `stateIn('#machine.a.b')` reads `in a.b`; a state value object as JSON.
  if (typeof guard === 'function' && typeof fn.stateValue === 'string') return `in ${fn.stateValue.replace(/^#[^.]*\./, '')}`;
  if (typeof guard === 'function' && fn.stateValue !== undefined) return `in ${JSON.stringify(fn.stateValue)}`;
  return 'guard';
}

/** Writes characters that break Mermaid labels as Mermaid entity codes. */
function escape(text: string): string {
  const codes: Record<string, string> = { '#': '#35;', ':': '#58;', ';': '#59;', '"': '#quot;' };
  return text.replace(/\s+/g, ' ').replace(/[#:;"]/g, (c) => codes[c]);
}
