import { enqueueActions, setup } from 'xstate';
import type { ClientEvent, JsonMessage, ProtocolActorInput, ProtocolEmitted } from '../../src/protocol/events';

/** The topics protocol's client messages. */
export type TopicsMessage =
  | { type: 'subscribe'; topic: unknown; ref?: unknown }
  | { type: 'unsubscribe'; topic: unknown; ref?: unknown }
  | { type: 'publish'; topic: unknown; payload?: unknown; echo?: unknown; ref?: unknown }
  | { type: 'ping'; ref?: unknown };

type TopicsEvent = ClientEvent<TopicsMessage & JsonMessage> | ClientEvent;

export interface TopicsContext {
  connectionId: string;
  /** The topics this connection is subscribed to. */
  topics: ReadonlySet<string>;
  maxTopics: number;
}

/** Longest topic name accepted. */
export const MAX_TOPIC_LENGTH = 256;

function refOf(event: TopicsEvent): string | null {
  const ref = event.message.ref;
  return typeof ref === 'string' || typeof ref === 'number' ? String(ref) : null;
}

function topicOf(event: TopicsEvent): string {
  return event.message.topic as string;
}

function ok(event: TopicsEvent, payload?: unknown): ProtocolEmitted {
  return { type: 'reply', ref: refOf(event) as string, status: 'ok', ...(payload === undefined ? {} : { payload }) };
}

function error(event: TopicsEvent, code: string, message: string): ProtocolEmitted {
  return { type: 'reply', ref: refOf(event) as string, status: 'error', code, message };
}

/**
 * Topics, modelled on Phoenix channels (JSON text frames):
 * `subscribe`/`unsubscribe` a topic, `publish` a payload to every other
 * subscriber (the sender too with `"echo": true`), `ping`. Every request gets
 * a reply correlated by its `ref`; errors are replies with `status: "error"`
 * and a stable code: `bad_topic`, `not_subscribed`, `too_many_topics`,
 * `unknown_type`.
 */
export const topicsMachine = setup({
  types: {
    context: {} as TopicsContext,
    events: {} as TopicsEvent,
    input: {} as ProtocolActorInput,
    emitted: {} as ProtocolEmitted,
  },
  guards: {
    isBadTopic: ({ event }) => {
      const topic = event.message.topic;
      return typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH;
    },
    isSubscribed: ({ context, event }) => context.topics.has(topicOf(event)),
    isAtTopicLimit: ({ context }) => context.topics.size >= context.maxTopics,
  },
  actions: {
    replyOk: enqueueActions(({ enqueue, event }) => enqueue.emit(ok(event))),
    replyPong: enqueueActions(({ enqueue, event }) => enqueue.emit(ok(event, 'pong'))),
    replyBadTopic: enqueueActions(({ enqueue, event }) =>
      enqueue.emit(error(event, 'bad_topic', `a topic is a string of 1 to ${MAX_TOPIC_LENGTH} characters`)),
    ),
    replyNotSubscribed: enqueueActions(({ enqueue, event }) =>
      enqueue.emit(error(event, 'not_subscribed', `not subscribed to ${topicOf(event)}`)),
    ),
    replyTooManyTopics: enqueueActions(({ enqueue, event, context }) =>
      enqueue.emit(error(event, 'too_many_topics', `at most ${context.maxTopics} topics per connection`)),
    ),
    replyUnknownType: enqueueActions(({ enqueue, event }) =>
      enqueue.emit(error(event, 'unknown_type', `unknown message type ${JSON.stringify(event.message.type)}`)),
    ),
    subscribe: enqueueActions(({ enqueue, event, context }) => {
      const topic = topicOf(event);
      enqueue.assign({ topics: new Set([...context.topics, topic]) });
      enqueue.emit({ type: 'subscribe', topic });
      enqueue.emit(ok(event));
    }),
    unsubscribe: enqueueActions(({ enqueue, event, context }) => {
      const topic = topicOf(event);
      const topics = new Set(context.topics);
      topics.delete(topic);
      enqueue.assign({ topics });
      enqueue.emit({ type: 'unsubscribe', topic });
      enqueue.emit(ok(event));
    }),
    publish: enqueueActions(({ enqueue, event }) => {
      enqueue.emit({ type: 'publish', topic: topicOf(event), payload: event.message.payload ?? null, echo: event.message.echo === true });
      enqueue.emit(ok(event));
    }),
  },
}).createMachine({
  id: 'topics',
  context: ({ input }) => ({ connectionId: input.connectionId, topics: new Set<string>(), maxTopics: input.maxTopics }),
  initial: 'ready',
  states: {
    ready: {
      on: {
        'client.subscribe': [
          { guard: 'isBadTopic', actions: 'replyBadTopic' },
          { guard: 'isSubscribed', actions: 'replyOk' },
          { guard: 'isAtTopicLimit', actions: 'replyTooManyTopics' },
          { actions: 'subscribe' },
        ],
        'client.unsubscribe': [
          { guard: 'isBadTopic', actions: 'replyBadTopic' },
          { guard: 'isSubscribed', actions: 'unsubscribe' },
          { actions: 'replyNotSubscribed' },
        ],
        'client.publish': [
          { guard: 'isBadTopic', actions: 'replyBadTopic' },
          { guard: 'isSubscribed', actions: 'publish' },
          { actions: 'replyNotSubscribed' },
        ],
        'client.ping': { actions: 'replyPong' },
        '*': { actions: 'replyUnknownType' },
      },
    },
  },
});
