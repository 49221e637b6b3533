import { setup } from 'xstate';
import { reply, replyTimeout, startReplyDeadline } from '../../machines/protocols/reply';
import type { ClientEvent, ProtocolEmitted } from '../../src/protocol/events';
import { createTestConnection } from '../../src/testing';

type AskEvent =
  | ClientEvent<{ type: 'ask'; ref: string }>
  | ClientEvent<{ type: 'answer'; ref: string; value: unknown }>
  | ClientEvent<{ type: 'refuse'; ref: string }>
  | { type: 'reply.timeout'; ref: string };

/** A json protocol with request/reply: `ask` starts a 1 s deadline, `answer` and `refuse` reply, with or without one pending. */
const ask = {
  name: 'ask',
  codec: 'json' as const,
  machine: setup({ types: { events: {} as AskEvent, emitted: {} as ProtocolEmitted } }).createMachine({
    on: {
      'client.ask': { actions: startReplyDeadline(({ event }) => event.message.ref, 1000) },
      'client.answer': { actions: reply(({ event }) => ({ ref: event.message.ref, payload: event.message.value })) },
      'client.refuse': { actions: reply(({ event }) => ({ ref: event.message.ref, error: { code: 'refused', message: 'no' } })) },
      'reply.timeout': { actions: replyTimeout() },
    },
  }),
};

describe('request/reply helpers (statewire/testing)', () => {
  it('answers a request whose deadline passes with a timeout error, on simulated time', () => {
    const conn = createTestConnection(ask);
    conn.sendJson({ type: 'ask', ref: '1' });
    conn.advance(999);
    conn.expectSent();
    conn.advance(1);
    conn.expectSent({ type: 'reply', ref: '1', status: 'error', code: 'timeout', message: 'no reply within the deadline' });
  });

  it('replies with an error code, and cancels the pending deadline', () => {
    const conn = createTestConnection(ask);
    conn.sendJson({ type: 'ask', ref: '2' }, { type: 'refuse', ref: '2' });
    conn.advance(5000);
    conn.expectSent({ type: 'reply', ref: '2', status: 'error', code: 'refused', message: 'no' });
  });

  it('replies to a ref that has no deadline', () => {
    const conn = createTestConnection(ask);
    conn.sendJson({ type: 'answer', ref: '3', value: [1, 2] });
    conn.expectSent({ type: 'reply', ref: '3', status: 'ok', payload: [1, 2] });
  });
});
