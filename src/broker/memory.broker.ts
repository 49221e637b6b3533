import type { Subject } from 'rxjs';
import { Observable, Subject as SubjectClass } from '../rx';
import type { Broker, TopicMessage } from './broker';

interface Topic {
  subject: Subject<TopicMessage>;
  subscribers: number;
}

/**
 * The in-memory broker: one RxJS Subject per topic with subscribers; a topic
 * is forgotten when its last subscriber leaves.
 *
 * @example
 * const broker = createMemoryBroker();
 * const sub = broker.subscribe('room:1').subscribe((m) => outbox.push(m.frame));
 * broker.publish({ topic: 'room:1', frame: '{"type":"message",...}' });
 * sub.unsubscribe();
 */
export function createMemoryBroker(): Broker {
  const topics = new Map<string, Topic>();
  return {
    publish(message) {
      topics.get(message.topic)?.subject.next(message);
    },
    subscribe(name) {
      return new Observable<TopicMessage>((subscriber) => {
        let topic = topics.get(name);
        if (topic === undefined) {
          topic = { subject: new SubjectClass<TopicMessage>(), subscribers: 0 };
          topics.set(name, topic);
        }
        topic.subscribers++;
        const subscription = topic.subject.subscribe(subscriber);
        const joined = topic;
        return () => {
          subscription.unsubscribe();
          if (--joined.subscribers === 0 && topics.get(name) === joined) topics.delete(name);
        };
      });
    },
    subscribers(name) {
      return topics.get(name)?.subscribers ?? 0;
    },
  };
}
