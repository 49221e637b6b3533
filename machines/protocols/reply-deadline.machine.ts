import { sendParent, setup } from 'xstate';

export interface ReplyDeadlineInput {
  ref: string;
  /** Milliseconds the protocol has to reply. */
  timeout: number;
}

/** What a reply deadline tells the protocol that spawned it when it passes. */
export type ReplyTimeoutEvent = { type: 'reply.timeout'; ref: string };

/**
 * A reply deadline: a protocol spawns one per request (`startReplyDeadline`),
 * and stops it when it replies (`reply`). If the deadline passes first, it
 * sends `reply.timeout` to the protocol, which answers the client with an
 * error reply of code `timeout` (`replyTimeout`). Being an actor with a
 * named delay, it runs on the protocol's clock: `SimulatedClock` in tests.
 */
export const replyDeadlineMachine = setup({
  types: {
    input: {} as ReplyDeadlineInput,
    context: {} as ReplyDeadlineInput,
  },
  delays: {
    replyTimeout: ({ context }) => context.timeout,
  },
  actions: {
    notifyTimeout: sendParent(({ context }): ReplyTimeoutEvent => ({ type: 'reply.timeout', ref: context.ref })),
  },
}).createMachine({
  id: 'replyDeadline',
  context: ({ input }) => input,
  initial: 'waiting',
  states: {
    waiting: {
      after: {
        replyTimeout: {
          target: 'expired',
          actions: 'notifyTimeout',
        },
      },
    },
    expired: { type: 'final' },
  },
});
