import { emit, setup } from 'xstate';
import { reply, replyTimeout, startReplyDeadline } from '../../machines/protocols/reply';
import type { ClientEvent, ProtocolEmitted } from '../../src/protocol/events';
import { defineProtocol } from '../../src/protocols';

/**
 * A json protocol for tests: `lookup` starts a request with a 1 s reply
 * deadline, `answer` replies to it, `crash` throws, anything else is echoed
 * back as `{"type":"seen","n":...}`.
 */
export const LOOKUP_DEADLINE = 1000;

type LookupEvent =
  | ClientEvent<{ type: 'lookup'; ref: string }>
  | ClientEvent<{ type: 'answer'; ref: string; value: unknown }>
  | ClientEvent<{ type: 'crash' }>
  | ClientEvent<{ type: 'note'; n: number }>
  | { type: 'reply.timeout'; ref: string };

export const lookupMachine = setup({
  types: { events: {} as LookupEvent, emitted: {} as ProtocolEmitted },
  actions: {
    crash: () => {
      throw new Error('crash on purpose');
    },
    seen: emit(({ event }) => ({ type: 'send' as const, messages: [{ type: 'seen', n: (event as Extract<LookupEvent, { type: 'client.note' }>).message.n }] })),
  },
}).createMachine({
  id: 'lookup',
  on: {
    'client.lookup': { actions: startReplyDeadline(({ event }) => String(event.message.ref), LOOKUP_DEADLINE) },
    'client.answer': { actions: reply(({ event }) => ({ ref: String(event.message.ref), payload: event.message.value })) },
    'reply.timeout': { actions: replyTimeout() },
    'client.crash': { actions: 'crash' },
    'client.note': { actions: 'seen' },
  },
});

export const lookup = defineProtocol({ name: 'lookup', machine: lookupMachine, codec: 'json' });
