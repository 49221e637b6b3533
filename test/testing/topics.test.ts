import { builtinProtocols, createMemoryBroker } from '../../src';
import { createTestConnection } from '../../src/testing';

const { topics } = builtinProtocols;

describe('topics protocol (statewire/testing)', () => {
  it('replies to subscribe, ping and unsubscribe, correlated by ref', () => {
    const conn = createTestConnection(topics);
    conn.sendJson({ type: 'subscribe', topic: 'room:1', ref: '1' }, { type: 'ping', ref: 2 });
    conn.expectSent({ type: 'reply', ref: '1', status: 'ok' }, { type: 'reply', ref: '2', status: 'ok', payload: 'pong' });
    conn.sendJson({ type: 'unsubscribe', topic: 'room:1', ref: '3' });
    conn.expectSent({ type: 'reply', ref: '3', status: 'ok' });
    expect(conn.emitted().map((e) => e.type)).toEqual(['subscribe', 'reply', 'reply', 'unsubscribe', 'reply']);
  });

  it('delivers a publish to the other subscribers of a topic through a shared broker, not to the sender', () => {
    const broker = createMemoryBroker();
    const alice = createTestConnection(topics, { broker, id: 'alice' });
    const bob = createTestConnection(topics, { broker, id: 'bob' });
    alice.sendJson({ type: 'subscribe', topic: 'room:1', ref: 'a' });
    bob.sendJson({ type: 'subscribe', topic: 'room:1', ref: 'b' });
    alice.expectSent({ type: 'reply', ref: 'a', status: 'ok' });
    bob.expectSent({ type: 'reply', ref: 'b', status: 'ok' });
    bob.sendJson({ type: 'publish', topic: 'room:1', payload: { text: 'hi' }, ref: 'p' });
    alice.expectSent({ type: 'message', topic: 'room:1', payload: { text: 'hi' } });
    bob.expectSent({ type: 'reply', ref: 'p', status: 'ok' });
  });

  it('publishes null when a publish has no payload, and to the sender too with echo', () => {
    const conn = createTestConnection(topics);
    conn.sendJson({ type: 'subscribe', topic: 'room:1', ref: '1' }, { type: 'publish', topic: 'room:1', ref: '2', echo: true });
    conn.expectSent({ type: 'reply', ref: '1', status: 'ok' }, { type: 'message', topic: 'room:1', payload: null }, { type: 'reply', ref: '2', status: 'ok' });
  });

  it('refuses a topic past maxTopics', () => {
    const conn = createTestConnection(topics, { maxTopics: 1 });
    conn.sendJson({ type: 'subscribe', topic: 'a', ref: '1' }, { type: 'subscribe', topic: 'b', ref: '2' });
    conn.expectSent(
      { type: 'reply', ref: '1', status: 'ok' },
      { type: 'reply', ref: '2', status: 'error', code: 'too_many_topics', message: 'at most 1 topics per connection' },
    );
  });

  it('answers a bad frame with an error frame and stays open, and closes with 1008 on the 11th in a row', () => {
    const conn = createTestConnection(topics);
    conn.send(['{not json', '[]']);
    expect(conn.sent().map((frame) => JSON.parse(frame).code)).toEqual(['bad_json', 'bad_message']);
    conn.send(Array.from({ length: 8 }, () => 'nope'));
    conn.sendJson({ type: 'ping', ref: 'still' });
    conn.send(Array.from({ length: 10 }, () => 'nope'));
    expect(conn.state()).toMatchObject({ open: {} });
    conn.send('nope');
    conn.expectClosed(1008, 'more than 10 bad frames in a row');
  });
});
