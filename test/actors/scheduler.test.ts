import { assign, createActor, raise, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { indexDelayedEvents, pendingDelayedEvents } from '../../src/actors/scheduler';
import { SteppingClock } from '../../src/testing/clock';

// A child that ticks every 100 ms, and a parent that holds `count` of them and can stop the first.
const ticker = setup({ types: { context: {} as { ticks: number } } }).createMachine({
  context: { ticks: 0 },
  initial: 'waiting',
  states: {
    waiting: { after: { 100: { target: 'waiting', reenter: true, actions: assign({ ticks: ({ context }) => context.ticks + 1 }) } } },
  },
});
// Two delays pending at once: one long, one rescheduled under it.
const twoTimers = setup({}).createMachine({
  type: 'parallel',
  states: {
    slow: { initial: 'waiting', states: { waiting: { after: { 60_000: 'done' } }, done: {} } },
    fast: { initial: 'waiting', states: { waiting: { after: { 100: { target: 'waiting', reenter: true } } } } },
  },
});
const parent = setup({
  types: { input: {} as { count: number }, events: {} as { type: 'stopFirst' } },
  actors: { ticker, twoTimers },
}).createMachine({
  context: ({ input, spawn }) => ({ tickers: Array.from({ length: input.count }, (_, i) => spawn('ticker', { id: `t${i}` })) }),
  on: {
    stopFirst: { actions: ({ context }) => (context.tickers[0] as AnyActorRef).send({ type: 'xstate.stop' }) },
  },
});

interface Internals {
  _snapshot: { _scheduledEvents: Record<string, unknown> };
}

/** Counts how often the system's delayed events are enumerated (what XState's own `cancelAll` does). */
function countEnumerations(system: unknown): { count: number } {
  const seen = { count: 0 };
  const internals = system as Internals;
  internals._snapshot._scheduledEvents = new Proxy(internals._snapshot._scheduledEvents, {
    ownKeys(target) {
      seen.count++;
      return Reflect.ownKeys(target);
    },
  });
  return seen;
}

function start(count: number, indexed: boolean) {
  const clock = new SteppingClock();
  const actor = createActor(parent, { clock, input: { count } });
  const index = indexed ? indexDelayedEvents(actor.system) : null;
  actor.start();
  // Counted from here: the system swaps in a fresh table of delayed events as it starts.
  const enumerations = countEnumerations(actor.system);
  const child = (i: number) => actor.getSnapshot().context.tickers[i] as AnyActorRef;
  return { actor, clock, enumerations, index, child };
}

describe('indexDelayedEvents', () => {
  it('XState alone walks every delayed event of the system when one actor stops (the cost the index removes)', () => {
    const { actor, enumerations, child } = start(50, false);
    actor.send({ type: 'stopFirst' });
    expect(child(0).getSnapshot().status).toBe('stopped');
    expect(enumerations.count).toBe(1);
    actor.stop();
  });

  it('stops an actor without walking the other actors’ delayed events', () => {
    const { actor, enumerations, clock, child } = start(50, true);
    clock.advance(250);
    actor.send({ type: 'stopFirst' });
    expect(child(0).getSnapshot().status).toBe('stopped');
    expect(enumerations.count).toBe(0);
    actor.stop();
  });

  it('cancels exactly the stopped actor’s delayed events; the others still fire on time', () => {
    const { actor, clock, child } = start(3, true);
    clock.advance(250);
    expect(child(0).getSnapshot().context.ticks).toBe(2);
    actor.send({ type: 'stopFirst' });
    clock.advance(1_000);
    expect(child(0).getSnapshot().context.ticks).toBe(2);
    expect(child(1).getSnapshot().context.ticks).toBe(12);
    expect(child(2).getSnapshot().context.ticks).toBe(12);
    actor.stop();
  });

  it('keeps an actor’s entry as small as its pending events while it reschedules (fired ids are pruned)', () => {
    const { actor, clock, child, index } = start(1, true);
    clock.advance(10_000);
    expect(child(0).getSnapshot().context.ticks).toBe(100);
    // 101 ticks scheduled (each with a fresh id); only the pending one is held.
    expect(index!.tracked(child(0))).toBe(1);
    // Stopping it cancels its one pending tick; nothing fires afterwards.
    actor.send({ type: 'stopFirst' });
    clock.advance(1_000);
    expect(child(0).getSnapshot().context.ticks).toBe(100);
    expect(clock.nextDeadline()).toBeUndefined();
    expect(index!.tracked(child(0))).toBe(0);
    actor.stop();
  });

  it('keeps the pending ids of an actor whose other delays fire, so stopping it cancels every one', () => {
    const clock = new SteppingClock();
    const owner = setup({ actors: { twoTimers }, types: { events: {} as { type: 'stop' } } }).createMachine({
      invoke: { id: 'timers', src: 'twoTimers' },
      on: { stop: { actions: ({ self }) => (self.getSnapshot().children.timers as AnyActorRef).send({ type: 'xstate.stop' }) } },
    });
    const actor = createActor(owner, { clock });
    const index = indexDelayedEvents(actor.system);
    actor.start();
    clock.advance(1_000);
    const timers = actor.getSnapshot().children.timers as AnyActorRef;
    expect(index.tracked(timers)).toBe(2);
    actor.send({ type: 'stop' });
    expect(clock.nextDeadline()).toBeUndefined();
    actor.stop();
  });

  it('counts an actor’s pending delayed events, not the ones that fired and are still tracked', () => {
    const clock = new SteppingClock();
    // A delayed raise is never cancelled once it fires (an `after` is, as its state exits): its id stays tracked until pruned.
    const raiser = setup({ types: { events: {} as { type: 'tick' } | { type: 'tock' } } }).createMachine({
      on: { tick: { actions: raise({ type: 'tock' }, { delay: 100 }) } },
    });
    const actor = createActor(raiser, { clock });
    const index = indexDelayedEvents(actor.system);
    actor.start();
    actor.send({ type: 'tick' });
    expect(index.pending(actor)).toBe(1);
    clock.advance(100);
    expect(index.tracked(actor)).toBe(1);
    expect(index.pending(actor)).toBe(0);
    actor.send({ type: 'tick' });
    actor.send({ type: 'tick' });
    expect(index.pending(actor)).toBe(2);
    clock.advance(50);
    actor.send({ type: 'tick' });
    clock.advance(50);
    expect(index.tracked(actor)).toBe(3);
    expect(index.pending(actor)).toBe(1);
    actor.stop();
    expect(index.pending(actor)).toBe(0);
  });

  it('counts nothing pending for an actor it has never seen schedule', () => {
    const actor = createActor(setup({}).createMachine({}));
    const index = indexDelayedEvents(actor.system);
    actor.start();
    expect(index.pending(actor)).toBe(0);
  });
});

describe('pendingDelayedEvents', () => {
  it.each([
    ['through the system’s index', true],
    ['by walking the system’s delayed events, without an index', false],
  ])('counts only the given actor’s pending delayed events, %s', (_, indexed) => {
    const { actor, clock, child } = start(2, indexed as boolean);
    expect(pendingDelayedEvents(actor)).toBe(0);
    expect(pendingDelayedEvents(child(0))).toBe(1);
    clock.advance(250);
    expect(pendingDelayedEvents(child(1))).toBe(1);
    actor.send({ type: 'stopFirst' });
    expect(pendingDelayedEvents(child(0))).toBe(0);
    expect(pendingDelayedEvents(child(1))).toBe(1);
    actor.stop();
  });
});
