import fc from 'fast-check';
import { assign, createActor, emit, fromTransition, setup, type AnyActorRef, type AnyStateMachine, type EventObject } from 'xstate';
import { deliverDirect, watchInspection, type Inspection } from '../../src/actors/stationary';
import { echoMachine } from '../../machines/protocols/echo.machine';

type Ev = { type: string; n?: number };

/** A started actor of `machine` and every event it emits, in order. */
function run(machine: AnyStateMachine) {
  const actor = createActor(machine).start();
  const emitted: EventObject[] = [];
  actor.on('*', (event: EventObject) => emitted.push(event));
  return { actor, emitted };
}

/** Whether `event` was taken directly, and what both ways emitted: directly (when taken) and through the interpreter. */
function compare(machine: AnyStateMachine, event: Ev) {
  const direct = run(machine);
  const before = direct.actor.getSnapshot();
  const taken = deliverDirect(direct.actor, event);
  const interpreted = run(machine);
  interpreted.actor.send(event);
  return { taken, direct: direct.emitted, interpreted: interpreted.emitted, unchanged: direct.actor.getSnapshot() === before };
}

const base = setup({
  types: { events: {} as Ev, context: {} as { count: number } },
  actions: {
    named: emit(({ event }) => ({ type: 'named', n: event.n })),
    withParams: emit((_, params: { tag: string }) => ({ type: 'params', tag: params.tag })),
    custom: () => {},
  },
  guards: { positive: ({ event }) => (event.n ?? 0) > 0 },
});

/** A machine whose state `ready` handles `go` as `transition` says. */
function machineWith(transition: object, extra: object = {}) {
  return base.createMachine({ context: { count: 0 }, initial: 'ready', states: { ready: { on: { go: transition }, ...extra } } });
}

describe('deliverDirect: stationary transitions (no target, no guard, emit only)', () => {
  test('echo: taken directly, with the events the interpreter emits, and the snapshot untouched', () => {
    const event = { type: 'socket.messages', messages: ['a', 'b'] };
    const { actor, emitted } = run(echoMachine);
    const before = actor.getSnapshot();
    expect(deliverDirect(actor, event)).toBe(true);
    expect(emitted).toEqual([{ type: 'send', messages: ['Echo: a', 'Echo: b'] }]);
    expect(actor.getSnapshot()).toBe(before);
    const interpreted = run(echoMachine);
    interpreted.actor.send(event);
    expect(interpreted.emitted).toEqual(emitted);
  });

  test.each([
    ['an inline emit', { actions: emit(({ event }: { event: Ev }) => ({ type: 'inline', n: event.n })) }],
    ['a static event', { actions: emit({ type: 'static' }) }],
    ['a named emit', { actions: 'named' }],
    ['params as a value', { actions: { type: 'withParams', params: { tag: 'value' } } }],
    ['params from the event', { actions: { type: 'withParams', params: ({ event }: { event: Ev }) => ({ tag: `n=${event.n}` }) } }],
    ['several emits, in order', { actions: ['named', emit({ type: 'second' }), { type: 'withParams', params: { tag: 'third' } }] }],
    ['no actions', {}],
  ])('%s: taken directly, emitting what the interpreter emits', (_, transition) => {
    const result = compare(machineWith(transition), { type: 'go', n: 7 });
    expect(result.taken).toBe(true);
    expect(result.unchanged).toBe(true);
    expect(result.direct).toEqual(result.interpreted);
  });

  test('a transition on an ancestor is found as the interpreter finds it, after the leaf', () => {
    const machine = base.createMachine({
      initial: 'outer',
      context: { count: 0 },
      on: { go: { actions: emit({ type: 'from-root' }) } },
      states: { outer: { initial: 'inner', on: { go: { actions: emit({ type: 'from-outer' }) } }, states: { inner: {} } } },
    });
    const result = compare(machine, { type: 'go' });
    expect(result.taken).toBe(true);
    expect(result.direct).toEqual([{ type: 'from-outer' }]);
    expect(result.direct).toEqual(result.interpreted);
  });

  test('an event no transition takes: taken, nothing emitted, as with the interpreter', () => {
    const result = compare(machineWith({ actions: 'named' }), { type: 'other' });
    expect(result.taken).toBe(true);
    expect(result.direct).toEqual([]);
    expect(result.interpreted).toEqual([]);
  });

  test('an exact match comes before a wildcard: taken directly', () => {
    const withWildcard = base.createMachine({ context: { count: 0 }, initial: 'ready', states: { ready: { on: { go: { actions: 'named' }, '*': { actions: emit({ type: 'any' }) } } } } });
    const both = compare(withWildcard, { type: 'go', n: 2 });
    expect(both.taken).toBe(true);
    expect(both.direct).toEqual([{ type: 'named', n: 2 }]);
    expect(both.direct).toEqual(both.interpreted);
  });

  test.each([
    ['a guard', machineWith({ guard: 'positive', actions: 'named' })],
    ['a target, even its own state', machineWith({ target: 'ready', actions: 'named' })],
    ['an assign', machineWith({ actions: ['named', assign({ count: ({ context }) => context.count + 1 })] })],
    ['a custom action', machineWith({ actions: 'custom' })],
    ['an eventless transition in the configuration', machineWith({ actions: 'named' }, { always: { guard: 'positive', target: 'ready' } })],
    [
      'a wildcard that could match',
      base.createMachine({ context: { count: 0 }, initial: 'ready', states: { ready: { on: { '*': { actions: emit({ type: 'any' }) } } } } }),
    ],
    [
      'a partial wildcard on an ancestor',
      base.createMachine({ context: { count: 0 }, initial: 'ready', on: { 'g.*': { actions: 'named' } }, states: { ready: {} } }),
    ],
    [
      'parallel regions',
      base.createMachine({
        context: { count: 0 },
        type: 'parallel',
        states: { a: { on: { go: { actions: 'named' } } }, b: {} },
      }),
    ],
  ])('%s: left to the interpreter', (_, machine) => {
    const result = compare(machine, { type: 'go', n: 3 });
    expect(result.taken).toBe(false);
    expect(result.direct).toEqual([]);
  });

  test('an emit expression that throws: left to the interpreter, which fails the actor and emits none of them', () => {
    const machine = machineWith({
      actions: [
        emit({ type: 'first' }),
        emit(() => {
          throw new Error('boom');
        }),
      ],
    });
    const { actor, emitted } = run(machine);
    expect(deliverDirect(actor, { type: 'go' })).toBe(false);
    expect(emitted).toEqual([]);
    expect(actor.getSnapshot().status).toBe('active');
    actor.subscribe({ error: () => {} });
    actor.send({ type: 'go' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(emitted).toEqual([]);
  });

  test('an actor that is busy, observed or stopped: left to the interpreter', () => {
    const machine = base.createMachine({
      context: { count: 0 },
      initial: 'ready',
      states: { ready: { on: { go: { actions: 'named' }, nested: { guard: 'positive', actions: emit({ type: 'outer' }) } } } },
    });
    // Busy: while the interpreter runs `nested`, its emit's listener tries to deliver `go`.
    const busy = run(machine);
    let inside: boolean | null = null;
    const go: Ev = { type: 'go', n: 1 };
    busy.actor.on('outer', () => (inside = deliverDirect(busy.actor, go)));
    busy.actor.send({ type: 'nested', n: 1 });
    expect(inside).toBe(false);
    expect(deliverDirect(busy.actor, go)).toBe(true);

    const observed = run(machine);
    const subscription = observed.actor.subscribe(() => {});
    expect(deliverDirect(observed.actor, { type: 'go' })).toBe(false);
    subscription.unsubscribe();
    expect(deliverDirect(observed.actor, { type: 'go' })).toBe(true);

    const stopped = run(machine);
    stopped.actor.stop();
    expect(deliverDirect(stopped.actor, { type: 'go' })).toBe(false);
    expect(stopped.emitted).toEqual([]);
  });

  test('an actor ref without XState internals, or of logic other than a machine, is left to the interpreter', () => {
    const ref = { send: () => {}, getSnapshot: () => ({ status: 'active' }) } as unknown as AnyActorRef;
    expect(deliverDirect(ref, { type: 'go' })).toBe(false);
    const counter = createActor(fromTransition((count: number) => count + 1, 0)).start();
    expect(deliverDirect(counter, { type: 'go' })).toBe(false);
    expect(counter.getSnapshot().context).toBe(0);
  });

  test('a final state inside a compound one: left to the interpreter', () => {
    const machine = base.createMachine({
      context: { count: 0 },
      initial: 'task',
      on: { go: { actions: 'named' } },
      states: { task: { initial: 'working', states: { working: { on: { finish: 'finished' } }, finished: { type: 'final' } } } },
    });
    const { actor } = run(machine);
    expect(deliverDirect(actor, { type: 'go' })).toBe(true);
    actor.send({ type: 'finish' });
    expect(deliverDirect(actor, { type: 'go' })).toBe(false);
  });

  /**
   * The property that matters: for any sequence of events, a machine mixing
   * stationary transitions with targets, guards and assigns emits the same
   * events and ends in the same state whether each event is tried directly
   * first or always interpreted.
   */
  test('any event sequence: the same emitted events and the same end state as the interpreter alone', () => {
    const mixed = base.createMachine({
      context: { count: 0 },
      initial: 'idle',
      on: { ping: { actions: emit(({ context, event }) => ({ type: 'pong', n: event.n, count: context.count })) } },
      states: {
        idle: {
          on: {
            go: { target: 'busy', actions: assign({ count: ({ context }) => context.count + 1 }) },
            say: { actions: ['named', { type: 'withParams', params: ({ event }) => ({ tag: `idle ${event.n}` }) }] },
          },
        },
        busy: {
          initial: 'one',
          on: {
            stop: { target: 'idle' },
            say: [{ guard: 'positive', actions: emit({ type: 'positive' }) }, { actions: 'named' }],
          },
          states: { one: { on: { go: 'two' } }, two: { on: { go: '#done' } } },
        },
        done: { id: 'done', on: { '*': { actions: emit({ type: 'late' }) } } },
      },
    });
    const event = fc.record({ type: fc.constantFrom('go', 'say', 'ping', 'stop', 'other'), n: fc.integer({ min: -2, max: 2 }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const direct = run(mixed);
        const interpreted = run(mixed);
        for (const e of events) {
          if (!deliverDirect(direct.actor, e)) direct.actor.send(e);
          interpreted.actor.send(e);
        }
        expect(direct.emitted).toEqual(interpreted.emitted);
        const [a, b] = [direct.actor.getSnapshot(), interpreted.actor.getSnapshot()];
        expect([a.value, a.context, a.status]).toEqual([b.value, b.context, b.status]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('watchInspection', () => {
  test('counts the observers system.inspect adds until each unsubscribes, and they still see events', () => {
    const actor = createActor(echoMachine);
    const inspection: Inspection = { observers: 1 };
    watchInspection(actor.system, inspection);
    const seen: string[] = [];
    const first = actor.system.inspect((event) => seen.push(event.type));
    const second = actor.system.inspect(() => {});
    expect(inspection.observers).toBe(3);
    actor.start();
    expect(seen).toContain('@xstate.event');
    first.unsubscribe();
    first.unsubscribe();
    expect(inspection.observers).toBe(2);
    second.unsubscribe();
    expect(inspection.observers).toBe(1);
    const count = seen.length;
    actor.send({ type: 'socket.messages', messages: ['x'] });
    expect(seen.length).toBe(count);
  });
});
