import type { Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { Broker } from '../broker/broker';
import { CloseCode, isSendableCloseCode } from '../protocol/close-codes';
import type { ProtocolEmitted } from '../protocol/events';
import { encode } from './codec';
import type { Outbox } from './outbox';

type Emitted<T extends ProtocolEmitted['type']> = Extract<ProtocolEmitted, { type: T }>;

export interface WiringContext {
  connectionId: string;
  outbox: Outbox;
  broker: Broker;
  /** Called when the protocol asks to close; the connection machine decides. */
  requestClose(code: number, reason: string): void;
}

const VOLATILE = { volatile: true } as const;

/**
 * Wires what a protocol actor emits to the world: `send` and `reply` into the
 * outbox, `subscribe`/`unsubscribe`/`publish` to the broker (topic messages
 * reach the client through the same outbox), `close` to the connection.
 * Returns the unwiring, which also leaves every topic the protocol joined.
 */
export function wireProtocol(protocol: AnyActorRef, context: WiringContext): () => void {
  const { connectionId, outbox, broker } = context;
  const topics = new Map<string, Subscription>();
  const listeners = [
    protocol.on('send', (event: Emitted<'send'>) => {
      const options = event.volatile === true ? VOLATILE : undefined;
      for (const message of event.messages) outbox.push(encode(message), options);
    }),
    protocol.on('reply', ({ ref, status, payload, code, message }: Emitted<'reply'>) => {
      outbox.push(JSON.stringify({ type: 'reply', ref, status, payload, code, message }));
    }),
    protocol.on('close', (event: Emitted<'close'>) => {
      const valid = isSendableCloseCode(event.code);
      context.requestClose(
        valid ? event.code : CloseCode.InternalError,
        valid ? event.reason : `protocol asked for an invalid close code ${event.code}`,
      );
    }),
    protocol.on('subscribe', ({ topic }: Emitted<'subscribe'>) => {
      if (topics.has(topic)) return;
      topics.set(
        topic,
        broker.subscribe(topic).subscribe((message) => {
          if (message.from !== connectionId || message.echo === true) outbox.push(message.frame);
        }),
      );
    }),
    protocol.on('unsubscribe', ({ topic }: Emitted<'unsubscribe'>) => {
      topics.get(topic)?.unsubscribe();
      topics.delete(topic);
    }),
    protocol.on('publish', ({ topic, payload, echo }: Emitted<'publish'>) => {
      broker.publish({ topic, frame: JSON.stringify({ type: 'message', topic, payload }), from: connectionId, echo });
    }),
  ];
  return () => {
    for (const listener of listeners) listener.unsubscribe();
    for (const subscription of topics.values()) subscription.unsubscribe();
    topics.clear();
  };
}
