import { createActor, fromCallback } from 'xstate';
import type { AnyActorRef, EventObject, InspectionEvent } from 'xstate';
import { replyDeadlineMachine } from '../../machines/protocols/reply-deadline.machine';
import { SteppingClock } from '../../src/testing';
import { withParent, type ModelSpec } from './harness';

const TIMEOUT = 100;

interface Impl {
  clock: SteppingClock;
  actor: AnyActorRef;
  /** What the deadline sent its parent (the protocol that spawned it). */
  parent: EventObject[];
}

/** A reply deadline, started by a recording parent on a SteppingClock. */
export const replyDeadlineSpec: ModelSpec<Impl> = {
  machine: replyDeadlineMachine,
  // It sends `reply.timeout` to its parent, which the model's traversal does not have.
  model: withParent(replyDeadlineMachine),
  input: { ref: 'r1', timeout: TIMEOUT },
  delays: { replyTimeout: TIMEOUT },
  exec: {},
  abstract: (s) => ({ value: s.value, status: s.status }),
  start(inspect: (event: InspectionEvent) => void): Impl {
    const parent: EventObject[] = [];
    const clock = new SteppingClock();
    const recorder = createActor(fromCallback(({ receive }) => receive((event: EventObject) => void parent.push(event))), { clock, inspect }).start();
    const actor = createActor(replyDeadlineMachine, { clock, inspect, parent: recorder, input: { ref: 'r1', timeout: TIMEOUT } }).start();
    return { clock, actor, parent };
  },
  observe: (impl) => ({ value: impl.actor.getSnapshot().value, status: impl.actor.getSnapshot().status }),
  check(impl) {
    // The protocol hears of the passed deadline once, with the request's ref.
    expect(impl.parent.filter((e) => e.type === 'reply.timeout')).toEqual([{ type: 'reply.timeout', ref: 'r1' }]);
  },
};
