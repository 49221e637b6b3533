import type { AnyStateMachine, EmittedFrom, EventFromLogic } from 'xstate';
import { echoMachine } from '../machines/protocols/echo.machine';
import { topicsMachine } from '../machines/protocols/topics.machine';
import type { Codec } from './actors/codec';
import type { ClientEvent, ProtocolEmitted, ProtocolInput } from './protocol/events';

/** A protocol: a machine that receives decoded inbound messages and speaks only through what it emits. */
export interface ProtocolDefinition<TMachine extends AnyStateMachine = AnyStateMachine> {
  name: string;
  machine: TMachine;
  codec: Codec;
  /**
   * When the protocol actor starts: `'open'` (default) as the connection
   * opens, so what its entry actions send (a greeting, say) is the client's
   * first frame; or `'message'` with the first inbound message, for protocols
   * that only answer: an idle connection then holds no protocol actor.
   */
  start?: ProtocolStart;
}

/** When a protocol actor starts: as the connection opens, or with the client's first message. */
export type ProtocolStart = 'open' | 'message';

/** What a protocol's machine must accept for its codec: text protocols get `socket.messages`, json ones `client.<type>` events. */
type Receives<TCodec extends Codec> = TCodec extends 'text' ? ProtocolInput : ClientEvent;

/** Compiles only when the machine emits nothing statewire cannot wire, and handles events of its codec's shape. */
type Checked<TMachine extends AnyStateMachine, TCodec extends Codec> = [EmittedFrom<TMachine>] extends [ProtocolEmitted]
  ? Extract<EventFromLogic<TMachine>, Receives<TCodec>> extends never
    ? { 'the machine must accept the events of its codec': Receives<TCodec>['type'] }
    : TMachine
  : { 'the machine emits events statewire does not know': Exclude<EmittedFrom<TMachine>, ProtocolEmitted>['type'] };

/**
 * Declares a protocol. Its machine receives decoded inbound messages (a
 * `text` protocol one `socket.messages` event per socket read; a `json`
 * protocol one `client.<type>` event per message) and speaks only through what
 * it emits: `send`, `reply`, `close`, `subscribe`, `unsubscribe`, `publish`.
 * It gets `{ connectionId, identity, maxTopics }` as input, and starts as the
 * connection opens, or with the first inbound message given `start: 'message'`.
 *
 * @example
 * const shout = defineProtocol({ name: 'shout', codec: 'text', machine: setup({
 *   types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted },
 * }).createMachine({ on: { 'socket.messages': { actions: emit(({ event }) => ({
 *   type: 'send', messages: event.messages.map((m) => m.toUpperCase()) })) } } }) });
 * createServer({ protocols: { shout }, protocol: 'shout' });
 */
export function defineProtocol<TMachine extends AnyStateMachine, TCodec extends Codec>(definition: {
  name: string;
  machine: Checked<TMachine, TCodec>;
  codec: TCodec;
  start?: ProtocolStart;
}): ProtocolDefinition<TMachine> {
  return definition as ProtocolDefinition<TMachine>;
}

/** The protocols statewire ships, by name. */
export const builtinProtocols = {
  echo: defineProtocol({ name: 'echo', machine: echoMachine, codec: 'text', start: 'message' }),
  topics: defineProtocol({ name: 'topics', machine: topicsMachine, codec: 'json', start: 'message' }),
};
