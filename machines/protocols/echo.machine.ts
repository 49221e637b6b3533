import { emit, setup } from 'xstate';
import type { ProtocolEmitted, ProtocolInput } from '../../src/protocol/events';

/**
 * The seed's protocol: every text message is answered with `Echo: <text>` on
 * the same connection, in order. Messages arrive batched (everything one
 * socket read brought), so one transition answers them all with one `send`.
 */
export const echoMachine = setup({
  types: {
    events: {} as ProtocolInput,
    emitted: {} as ProtocolEmitted,
  },
  actions: {
    echo: emit(({ event }) => ({
      type: 'send' as const,
      messages: event.messages.map((text) => `Echo: ${text}`),
    })),
  },
}).createMachine({
  id: 'echo',
  initial: 'ready',
  states: {
    ready: {
      on: { 'socket.messages': { actions: 'echo' } },
    },
  },
});
