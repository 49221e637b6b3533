import { assign, createActor, emit, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { canPersist, resumable } from '../../src/actors/hibernation';
import { indexDelayedEvents } from '../../src/actors/scheduler';
import { SteppingClock } from '../../src/testing/clock';

/** A protocol that greets as it starts (its entry action) and counts the messages it gets, moving to `talking`. */
const counter = setup({
  types: {
    context: {} as { connectionId: string; count: number },
    input: {} as { connectionId: string; restore?: unknown },
    events: {} as { type: 'socket.messages'; messages: string[] } | { type: 'wait' } | { type: 'spawn' },
    emitted: {} as { type: 'send'; messages: string[] },
  },
  actors: { child: setup({}).createMachine({}) },
}).createMachine({
  context: ({ input }) => ({ connectionId: input.connectionId, count: 0 }),
  entry: emit({ type: 'send', messages: ['hello'] }),
  initial: 'quiet',
  states: {
    quiet: {},
    talking: {},
    waiting: { after: { 1_000: 'talking' } },
  },
  on: {
    'socket.messages': { target: '.talking', actions: assign({ count: ({ context, event }) => context.count + event.messages.length }) },
    wait: '.waiting',
    spawn: { actions: assign({ spawned: ({ spawn }) => spawn('child') }) as never },
  },
});

/** Starts `logic` and records what it emits from its very start. */
function started(logic: typeof counter, input: { connectionId: string; restore?: unknown }, clock = new SteppingClock()) {
  const actor = createActor(logic, { input, clock });
  const sent: string[] = [];
  actor.on('send', (event) => void sent.push(...event.messages));
  actor.start();
  return { actor, sent, clock };
}

describe('canPersist', () => {
  it('is true for a protocol not started yet (null)', () => {
    expect(canPersist(null)).toBe(true);
  });

  it('is true for a running machine actor with no timers and no children', () => {
    const { actor } = started(counter, { connectionId: 'c' });
    expect(canPersist(actor)).toBe(true);
  });

  it('is false while an `after` delay is pending, and true again once it has fired', () => {
    const { actor, clock } = started(counter, { connectionId: 'c' });
    actor.send({ type: 'wait' });
    expect(canPersist(actor)).toBe(false);
    clock.advance(1_000);
    expect(actor.getSnapshot().value).toBe('talking');
    expect(canPersist(actor)).toBe(true);
  });

  it('is false while an `after` delay is pending in a system whose delayed events are indexed', () => {
    const clock = new SteppingClock();
    const actor = createActor(counter, { input: { connectionId: 'c' }, clock });
    indexDelayedEvents(actor.system);
    actor.start();
    actor.send({ type: 'wait' });
    expect(canPersist(actor)).toBe(false);
    clock.advance(1_000);
    expect(canPersist(actor)).toBe(true);
  });

  it('is false for an actor with a child of its own', () => {
    const { actor } = started(counter, { connectionId: 'c' });
    actor.send({ type: 'spawn' });
    expect(Object.keys(actor.getSnapshot().children)).toHaveLength(1);
    expect(canPersist(actor)).toBe(false);
  });

  it('is false for a stopped actor', () => {
    const { actor } = started(counter, { connectionId: 'c' });
    actor.stop();
    expect(canPersist(actor)).toBe(false);
  });

  it('is false for an actor that cannot be persisted', () => {
    const opaque = { getSnapshot: () => ({ status: 'active' }) } as unknown as AnyActorRef;
    expect(canPersist(opaque)).toBe(false);
  });
});

describe('resumable', () => {
  it('starts normally without input.restore: context from input, entry actions run', () => {
    const { actor, sent } = started(resumable(counter) as typeof counter, { connectionId: 'c' });
    expect(sent).toEqual(['hello']);
    expect(actor.getSnapshot().value).toBe('quiet');
    expect(actor.getSnapshot().context).toEqual({ connectionId: 'c', count: 0 });
  });

  it('resumes from input.restore with its state and context, without running its entry actions again', () => {
    const first = started(counter, { connectionId: 'c' });
    first.actor.send({ type: 'socket.messages', messages: ['a', 'b'] });
    const restore = first.actor.getPersistedSnapshot();
    first.actor.stop();

    const { actor, sent } = started(resumable(counter) as typeof counter, { connectionId: 'ignored', restore });

    expect(actor.getSnapshot().value).toBe('talking');
    expect(actor.getSnapshot().context).toEqual({ connectionId: 'c', count: 2 });
    expect(sent).toEqual([]);
    actor.send({ type: 'socket.messages', messages: ['c'] });
    expect(actor.getSnapshot().context.count).toBe(3);
  });

  it('leaves the logic it wraps unchanged', () => {
    const first = started(counter, { connectionId: 'c' });
    resumable(counter);
    const { sent } = started(counter, { connectionId: 'c', restore: first.actor.getPersistedSnapshot() });
    expect(sent).toEqual(['hello']);
  });
});
