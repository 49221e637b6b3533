import type { Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { Broker } from '../broker/broker';
import { CloseCode, isSendableCloseCode } from '../protocol/close-codes';
import type { ProtocolEmitted } from '../protocol/events';
import { encode } from './codec';
import type { Outbox } from './outbox';

export interface WiringContext {
  connectionId: string;
  outbox: Outbox;
  broker: Broker;
  /** Called when the protocol asks to close; the connection machine decides. */
  requestClose(code: number, reason: string): void;
}

const VOLATILE = { volatile: true } as const;

/** A connection's topic subscriptions on the broker, by topic. */
export type Topics = Map<string, Subscription>;

/**
 * Undoes a wiring. Without `keepTopics` it also leaves every topic the
 * protocol joined; with it (a connection hibernating) the subscriptions stay
 * and are returned, to be handed to the wiring of the protocol resumed later.
 */
export type Unwire = (keepTopics?: boolean) => Topics | null;

/** Leaves every topic of `topics` (kept by a hibernating connection, or its wiring's own). */
export function leaveTopics(topics: Topics | null): null {
  if (topics !== null) for (const subscription of topics.values()) subscription.unsubscribe();
  return null;
}

/**
 * Wires what a protocol actor emits to the world: `send` and `reply` into the
 * outbox, `subscribe`/`unsubscribe`/`publish` to the broker (topic messages
 * reach the client through the same outbox), `close` to the connection.
 * `joined`: the subscriptions a resumed protocol's earlier self held.
 */
export function wireProtocol(protocol: AnyActorRef, context: WiringContext, joined: Topics | null = null): Unwire {
  const { connectionId, outbox, broker } = context;
  let topics: Topics | null = joined;
  // One wildcard listener, not one per emitted type: it is held by every open connection.
  const listener = protocol.on('*', (event: ProtocolEmitted) => {
    switch (event.type) {
      case 'send': {
        const options = event.volatile === true ? VOLATILE : undefined;
        for (const message of event.messages) outbox.push(encode(message), options);
        break;
      }
      case 'reply': {
        const { ref, status, payload, code, message } = event;
        outbox.push(JSON.stringify({ type: 'reply', ref, status, payload, code, message }));
        break;
      }
      case 'close': {
        const valid = isSendableCloseCode(event.code);
        context.requestClose(
          valid ? event.code : CloseCode.InternalError,
          valid ? event.reason : `protocol asked for an invalid close code ${event.code}`,
        );
        break;
      }
      case 'subscribe': {
        topics ??= new Map();
        if (topics.has(event.topic)) break;
        topics.set(
          event.topic,
          broker.subscribe(event.topic).subscribe((message) => {
            if (message.from !== connectionId || message.echo === true) outbox.push(message.frame);
          }),
        );
        break;
      }
      case 'unsubscribe':
        topics?.get(event.topic)?.unsubscribe();
        topics?.delete(event.topic);
        break;
      case 'publish':
        broker.publish({
          topic: event.topic,
          frame: JSON.stringify({ type: 'message', topic: event.topic, payload: event.payload }),
          from: connectionId,
          echo: event.echo,
        });
        break;
    }
  });
  return (keepTopics = false) => {
    listener.unsubscribe();
    const kept = topics;
    topics = null;
    return keepTopics ? kept : leaveTopics(kept);
  };
}
