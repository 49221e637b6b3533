import { createActor } from 'xstate';
import type { Outbox } from '../../src/actors/outbox';
import { wireProtocol, type WiringContext } from '../../src/actors/protocol-wiring';
import { createMemoryBroker } from '../../src/broker/memory.broker';
import { topicMember } from '../machines/fakes';

/** A wiring context whose outbox records what it is given. */
function context(): WiringContext & { pushed: string[] } {
  const pushed: string[] = [];
  const outbox = { push: (frame: string) => void pushed.push(frame) } as unknown as Outbox;
  return { connectionId: 'conn-1', outbox, broker: createMemoryBroker(), requestClose: () => undefined, pushed };
}

const join = (topic: string) => ({ type: 'join' as const, topic });

describe('wireProtocol', () => {
  describe('unwire()', () => {
    it('leaves every topic the protocol joined and returns null', () => {
      const ctx = context();
      const protocol = createActor(topicMember).start();
      const unwire = wireProtocol(protocol, ctx);
      protocol.send(join('a'));
      protocol.send(join('b'));
      expect([ctx.broker.subscribers('a'), ctx.broker.subscribers('b')]).toEqual([1, 1]);
      expect(unwire()).toBeNull();
      expect([ctx.broker.subscribers('a'), ctx.broker.subscribers('b')]).toEqual([0, 0]);
    });

    it('stops hearing the protocol', () => {
      const ctx = context();
      const protocol = createActor(topicMember).start();
      wireProtocol(protocol, ctx)();
      protocol.send(join('a'));
      expect(ctx.broker.subscribers('a')).toBe(0);
    });
  });

  describe('unwire(true), as a connection hibernates', () => {
    it('keeps the subscriptions, still delivering topic messages to the outbox, and returns them by topic', () => {
      const ctx = context();
      const protocol = createActor(topicMember).start();
      const unwire = wireProtocol(protocol, ctx);
      protocol.send(join('a'));
      protocol.send(join('b'));
      const kept = unwire(true);
      expect([...kept!.keys()]).toEqual(['a', 'b']);
      expect(ctx.broker.subscribers('a')).toBe(1);
      ctx.broker.publish({ topic: 'a', frame: 'news', from: 'conn-2' });
      expect(ctx.pushed).toEqual(['news']);
      // The old protocol is no longer heard.
      protocol.send(join('c'));
      expect(ctx.broker.subscribers('c')).toBe(0);
    });

    it('returns null when the protocol joined nothing', () => {
      const protocol = createActor(topicMember).start();
      expect(wireProtocol(protocol, context())(true)).toBeNull();
    });

    it('hands the kept subscriptions to the next wiring: its protocol can leave them, and its unwire leaves the rest', () => {
      const ctx = context();
      const first = createActor(topicMember).start();
      const unwireFirst = wireProtocol(first, ctx);
      first.send(join('a'));
      first.send(join('b'));
      const kept = unwireFirst(true);

      const resumed = createActor(topicMember).start();
      const unwire = wireProtocol(resumed, ctx, kept);
      resumed.send(join('a'));
      expect(ctx.broker.subscribers('a')).toBe(1);
      resumed.send({ type: 'leave', topic: 'a' });
      expect(ctx.broker.subscribers('a')).toBe(0);
      unwire();
      expect(ctx.broker.subscribers('b')).toBe(0);
    });
  });
});
