import type { Observable } from 'rxjs';

/** One message published on a topic, as every subscriber receives it. */
export interface TopicMessage {
  topic: string;
  /** The frame subscribers send to their clients, serialised once by the publisher. */
  frame: string;
  /** The publishing connection's id, so it can skip its own messages. */
  from?: string;
  /** Whether the publisher also wants its own message. */
  echo?: boolean;
}

/**
 * Where topics live. Protocols never see it: the runtime wires their
 * `subscribe`, `unsubscribe` and `publish` to it. The in-memory broker is the
 * default; a distributed one (e.g. Redis pub/sub) implements the same three
 * operations.
 */
export interface Broker {
  /** Delivers `message` to every current subscriber of its topic. */
  publish(message: TopicMessage): void;
  /** The topic's messages from now on; unsubscribing from the Observable unsubscribes from the topic. */
  subscribe(topic: string): Observable<TopicMessage>;
  /** Subscribers of a topic on this node. */
  subscribers(topic: string): number;
}
