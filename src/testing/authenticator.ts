import { assign, setup } from 'xstate';
import type { AnyActorRef } from 'xstate';
import type { AuthRejection } from '../../machines/connection.machine';

/** `identity: 'manual'`: the test answers with `accept()` or `reject()`. */
export const MANUAL = 'manual';

type AuthEvent = { type: 'accept'; identity: unknown } | { type: 'reject'; rejection: AuthRejection };

/** An `authenticate` actor that answers at once with `identity`, or (manual) when the test says. */
export function createAuthenticator(identity: unknown, onStart: (self: AnyActorRef) => void) {
  return setup({
    types: { context: {} as { identity: unknown }, events: {} as AuthEvent },
    actions: {
      announce: ({ self }) => onStart(self),
      recordIdentity: assign({ identity: ({ event }) => (event as Extract<AuthEvent, { type: 'accept' }>).identity }),
      refuse: ({ event }) => {
        // Thrown, the rejection becomes the invoke's error: the connection's `decideRejection` reads its status.
        throw (event as Extract<AuthEvent, { type: 'reject' }>).rejection;
      },
    },
  }).createMachine({
    context: { identity: identity === MANUAL ? null : identity },
    initial: identity === MANUAL ? 'pending' : 'accepted',
    entry: 'announce',
    states: {
      pending: {
        on: {
          accept: { target: 'accepted', actions: 'recordIdentity' },
          reject: { actions: 'refuse' },
        },
      },
      accepted: { type: 'final' },
    },
    output: ({ context }) => context.identity,
  });
}
