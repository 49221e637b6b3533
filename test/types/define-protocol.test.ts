import { emit, setup } from 'xstate';
import type { ClientEvent, ProtocolEmitted, ProtocolInput } from '../../src/protocol/events';
import { defineProtocol } from '../../src/protocols';

// These declarations are checked by `tsc --noEmit` (part of npm test): each
// line marked ts-expect-error must fail to compile, or the type check fails.

const textMachine = setup({ types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted } }).createMachine({
  on: { 'socket.messages': { actions: emit({ type: 'send', messages: ['hi'] }) } },
});

const wrongEmitted = setup({ types: { events: {} as ProtocolInput, emitted: {} as { type: 'shout'; text: string } } }).createMachine({});

const jsonMachine = setup({ types: { events: {} as ClientEvent<{ type: 'hello' }>, emitted: {} as ProtocolEmitted } }).createMachine({});

describe('defineProtocol', () => {
  it('returns the definition it is given', () => {
    const definition = { name: 'text', machine: textMachine, codec: 'text' as const };
    expect(defineProtocol(definition)).toBe(definition);
  });

  it('refuses, at compile time, machines that emit unknown events or do not accept their codec\'s events', () => {
    // @ts-expect-error the machine emits `shout`, which statewire cannot wire
    const bad = defineProtocol({ name: 'bad', machine: wrongEmitted, codec: 'text' });
    // @ts-expect-error a json codec delivers client.<type> events, which a text machine does not accept
    const mismatch = defineProtocol({ name: 'mismatch', machine: textMachine, codec: 'json' });
    // @ts-expect-error a text codec delivers socket.messages, which this json machine does not accept
    const mismatch2 = defineProtocol({ name: 'mismatch2', machine: jsonMachine, codec: 'text' });
    const fine = defineProtocol({ name: 'fine', machine: jsonMachine, codec: 'json' });
    expect([bad, mismatch, mismatch2, fine].map((p) => p.codec)).toEqual(['text', 'json', 'text', 'json']);
  });
});
