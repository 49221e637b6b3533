import { emit, setup } from 'xstate';
import { defineProtocol, type ProtocolEmitted, type ProtocolInput } from '../../src';
import { createTestConnection } from '../../src/testing';

/** The README's protocol and its test, as printed there ("Protocols as machines", "Testing your protocol"). */
const shout = defineProtocol({
  name: 'shout',
  codec: 'text',
  machine: setup({ types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted } }).createMachine({
    on: { 'socket.messages': { actions: emit(({ event }) => ({ type: 'send', messages: event.messages.map((m) => m.toUpperCase()) })) } },
  }),
});

describe('README', () => {
  it('shout answers in capitals and keeps a quiet client only until the pong deadline', () => {
    const conn = createTestConnection(shout, { heartbeatInterval: 1000, pongTimeout: 300, autoPong: false });
    conn.send(['hi', 'there']); // one socket read
    conn.expectSent('HI', 'THERE');
    conn.advance(1300); // hop by hop: the ping at 1000, the pong deadline at 1300
    conn.expectClosed(4000); // heartbeat timeout
  });
});
