import { echoMachine } from '../../machines/protocols/echo.machine';
import { createTestConnection } from '../../src/testing';

describe('echo protocol (statewire/testing)', () => {
  it('answers every message with Echo: <text>, in order', () => {
    const conn = createTestConnection(echoMachine);
    conn.send('hello');
    conn.send('');
    conn.send('ünïcødé ✓');
    conn.expectSent('Echo: hello', 'Echo: ', 'Echo: ünïcødé ✓');
  });

  it('answers a batch read in one socket read with one send, in order', () => {
    const conn = createTestConnection(echoMachine);
    conn.send(['a', 'b', 'c']);
    conn.expectSent('Echo: a', 'Echo: b', 'Echo: c');
    expect(conn.emitted()).toEqual([{ type: 'send', messages: ['Echo: a', 'Echo: b', 'Echo: c'] }]);
  });

  it('stays ready whatever it is sent', () => {
    const conn = createTestConnection(echoMachine);
    conn.send(['{"type":"subscribe"}', '\ud800', '1e400']);
    expect(conn.protocolState()).toBe('ready');
    expect(conn.state()).toEqual({ open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } });
  });

  it('closes with 1003 and says text only on a binary frame, after answering what came before', () => {
    const conn = createTestConnection(echoMachine, { autoClose: false });
    conn.send('first');
    conn.sendBinary();
    conn.send('after');
    conn.expectSent('Echo: first');
    conn.expectClosed(1003, 'echo accepts text frames only');
    conn.close();
    expect(conn.record()).toMatchObject({ messagesIn: 1, undelivered: { readAfterClose: 1, socketClosed: 0 } });
  });

  it('closes with 1007 on invalid UTF-8', () => {
    const conn = createTestConnection(echoMachine);
    conn.sendBytes(new Uint8Array([0x68, 0xff, 0xfe]));
    conn.expectSent();
    conn.expectClosed(1007);
  });

  it('answers valid UTF-8 bytes as text', () => {
    const conn = createTestConnection(echoMachine);
    conn.sendBytes(new TextEncoder().encode('é'));
    conn.expectSent('Echo: é');
  });

  it('closes with 1001 on server shutdown and records what it answered', () => {
    const conn = createTestConnection(echoMachine);
    conn.send(['x', 'y']);
    conn.shutdown();
    conn.expectClosed(1001, 'server shutting down');
    expect(conn.record()).toMatchObject({ code: 1001, clean: true, messagesIn: 2, enqueued: 2, messagesOut: 2 });
  });

  it('keeps a client that answers pings, and terminates one that stops answering with 4000', () => {
    const conn = createTestConnection(echoMachine, { heartbeatInterval: 1000, pongTimeout: 300, autoPong: false });
    conn.advance(1000);
    conn.pong();
    conn.advance(1000);
    expect(conn.pings()).toBe(2);
    conn.advance(300);
    conn.expectClosed(4000);
    expect(conn.record()).toMatchObject({ code: 4000, clean: false });
  });
});
