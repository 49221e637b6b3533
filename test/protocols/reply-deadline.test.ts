import { createActor, SimulatedClock } from 'xstate';
import type { ProtocolEmitted } from '../../src/protocol/events';
import { LOOKUP_DEADLINE, lookupMachine } from './lookup.protocol';

function start() {
  const clock = new SimulatedClock();
  const actor = createActor(lookupMachine, { clock }).start();
  const replies: ProtocolEmitted[] = [];
  actor.on('reply', (event) => replies.push(event));
  const client = (message: { type: string; [k: string]: unknown }) => actor.send({ type: `client.${message.type}`, message } as never);
  return { actor, clock, replies, client };
}

describe('reply deadlines', () => {
  it('answers with a timeout error reply when the deadline passes', () => {
    const { clock, replies, client } = start();
    client({ type: 'lookup', ref: '1' });
    clock.increment(LOOKUP_DEADLINE - 1);
    expect(replies).toEqual([]);
    clock.increment(1);
    expect(replies).toEqual([{ type: 'reply', ref: '1', status: 'error', code: 'timeout', message: 'no reply within the deadline' }]);
  });

  it('cancels the deadline when the reply comes first', () => {
    const { actor, clock, replies, client } = start();
    client({ type: 'lookup', ref: '2' });
    clock.increment(LOOKUP_DEADLINE / 2);
    client({ type: 'answer', ref: '2', value: 42 });
    clock.increment(LOOKUP_DEADLINE * 2);
    expect(replies).toEqual([{ type: 'reply', ref: '2', status: 'ok', payload: 42 }]);
    expect(Object.keys(actor.getSnapshot().children)).toEqual([]);
  });

  it('keeps separate deadlines per ref', () => {
    const { clock, replies, client } = start();
    client({ type: 'lookup', ref: 'a' });
    clock.increment(LOOKUP_DEADLINE / 2);
    client({ type: 'lookup', ref: 'b' });
    client({ type: 'answer', ref: 'a', value: 'A' });
    clock.increment(LOOKUP_DEADLINE);
    expect(replies.map((r) => r.type === 'reply' && [r.ref, r.status])).toEqual([
      ['a', 'ok'],
      ['b', 'error'],
    ]);
  });
});
