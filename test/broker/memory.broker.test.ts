import { createMemoryBroker } from '../../src/broker/memory.broker';
import type { TopicMessage } from '../../src/broker/broker';

const message = (topic: string, frame: string): TopicMessage => ({ topic, frame });

describe('createMemoryBroker', () => {
  it('delivers a published message to every subscriber of its topic and no other', () => {
    const broker = createMemoryBroker();
    const a: string[] = [];
    const b: string[] = [];
    const other: string[] = [];
    broker.subscribe('room:1').subscribe((m) => a.push(m.frame));
    broker.subscribe('room:1').subscribe((m) => b.push(m.frame));
    broker.subscribe('room:2').subscribe((m) => other.push(m.frame));
    broker.publish(message('room:1', 'hello'));
    expect([a, b, other]).toEqual([['hello'], ['hello'], []]);
  });

  it('counts subscribers and forgets a topic when the last one leaves', () => {
    const broker = createMemoryBroker();
    expect(broker.subscribers('t')).toBe(0);
    const first = broker.subscribe('t').subscribe();
    const second = broker.subscribe('t').subscribe();
    expect(broker.subscribers('t')).toBe(2);
    first.unsubscribe();
    expect(broker.subscribers('t')).toBe(1);
    second.unsubscribe();
    expect(broker.subscribers('t')).toBe(0);
    const late: string[] = [];
    broker.subscribe('t').subscribe((m) => late.push(m.frame));
    broker.publish(message('t', 'again'));
    expect(late).toEqual(['again']);
  });

  it('drops a message published to a topic nobody holds', () => {
    const broker = createMemoryBroker();
    expect(() => broker.publish(message('empty', 'x'))).not.toThrow();
    expect(broker.subscribers('empty')).toBe(0);
  });
});
