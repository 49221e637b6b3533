import { createMachine, fromCallback } from 'xstate';
import { clientEventTypes, createJsonInbound, decodeJson, UNNAMED_CLIENT_TYPE } from '../../src/actors/codec';
import { topicsMachine } from '../../machines/protocols/topics.machine';

describe('json event types', () => {
  it('names the client.<type> events a protocol machine has transitions for, in every state, wildcards left out', () => {
    expect([...clientEventTypes(topicsMachine)!].sort()).toEqual(['client.ping', 'client.publish', 'client.subscribe', 'client.unsubscribe']);
    const nested = createMachine({
      initial: 'a',
      on: { 'client.top': {}, 'client.*': {}, other: {} },
      states: { a: { on: { 'client.deep': 'b' } }, b: { initial: 'c', states: { c: { on: { 'client.deeper': {} } } } } },
    });
    expect([...clientEventTypes(nested)!].sort()).toEqual(['client.deep', 'client.deeper', 'client.top']);
  });

  it('has no names for logic that is not a state machine: its events keep their types', () => {
    expect(clientEventTypes(fromCallback(() => undefined))).toBeNull();
    expect(decodeJson('{"type":"anything"}', null)).toEqual({ type: 'client.anything', message: { type: 'anything' } });
  });

  it('decodes a message of a named type as client.<type>, any other as client.*, the message whole either way', () => {
    const named = new Set(['client.join']);
    expect(decodeJson('{"type":"join","room":1}', named)).toEqual({ type: 'client.join', message: { type: 'join', room: 1 } });
    expect(decodeJson('{"type":"j0in","room":1}', named)).toEqual({ type: UNNAMED_CLIENT_TYPE, message: { type: 'j0in', room: 1 } });
    const events: string[] = [];
    createJsonInbound(3, named)(['{"type":"join"}', '{"type":"x"}', '{"type":"y"}'], {
      accepting: () => true,
      event: (event) => void events.push(event.type),
      error: () => undefined,
      violation: () => undefined,
    });
    expect(events).toEqual(['client.join', 'client.*', 'client.*']);
  });
});
