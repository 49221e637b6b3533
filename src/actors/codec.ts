import { CloseCode } from '../protocol/close-codes';
import type { ClientEvent, JsonMessage } from '../protocol/events';

const POLICY_VIOLATION = CloseCode.PolicyViolation;

/**
 * How inbound frames are decoded before the protocol sees them, and outbound
 * objects encoded: `text` hands strings through; `json` parses each frame
 * into an object with a string `type`.
 */
export type Codec = 'text' | 'json';

/** Bad json frames tolerated in a row before the connection closes with 1008. */
export const DEFAULT_BAD_FRAME_TOLERANCE = 10;

export interface DecodeError {
  code: 'bad_json' | 'bad_message';
  message: string;
}

/** The event type a json message of a type the protocol names no transition for arrives as (the message is intact). */
export const UNNAMED_CLIENT_TYPE = 'client.*';

/**
 * The `client.<type>` event types a protocol machine names in its
 * transitions, or null for logic that is not a state machine.
 *
 * A message of any other type reaches the protocol as `client.*` (a
 * `client.*` or `*` transition catches it; `event.message.type` is the
 * client's): XState memoises the transitions each state node selects per
 * event type, for the life of the machine, in every process that runs it, so
 * a type chosen by the client would let any client grow the server's memory
 * by about 440 bytes per distinct type it sends.
 */
export function clientEventTypes(logic: unknown): ReadonlySet<string> | null {
  const root = (logic as { root?: TransitionSource } | null)?.root;
  if (root === undefined) return null;
  const types = new Set<string>();
  const visit = (node: TransitionSource): void => {
    for (const type of node.transitions.keys()) if (type.startsWith('client.') && !type.endsWith('*')) types.add(type);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(root);
  return types;
}

/** The part of an XState state node that `clientEventTypes` reads. */
interface TransitionSource {
  transitions: ReadonlyMap<string, unknown>;
  states: Record<string, TransitionSource>;
}

/** Decodes one json frame into the protocol's event, or says why it cannot; `named`: see `clientEventTypes`. */
export function decodeJson(text: string, named: ReadonlySet<string> | null = null): ClientEvent | DecodeError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { code: 'bad_json', message: `not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { code: 'bad_message', message: 'a message must be a JSON object' };
  }
  const message = value as JsonMessage;
  if (typeof message.type !== 'string' || message.type === '') {
    return { code: 'bad_message', message: 'a message needs a non-empty string "type"' };
  }
  const type = `client.${message.type}`;
  return { type: named === null || named.has(type) ? type : UNNAMED_CLIENT_TYPE, message } as ClientEvent;
}

/** The error frame a client gets: `{"type":"error","code":...,"message":...}`. */
export function errorFrame(code: string, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}

/** Serialises what a protocol sends: strings as they are, objects as JSON. */
export function encode(message: string | object): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

/** Where a json batch goes: the protocol's events, error frames, or the violation that closes the connection. */
export interface JsonDelivery {
  /** Whether messages are still taken (the connection has not decided to close). */
  accepting(): boolean;
  /** The protocol's event for one decoded message, in order. */
  event(event: ClientEvent): void;
  /** The error frame answering a bad frame within the tolerance. */
  error(frame: string): void;
  /** Past the tolerance: the close to make (1008), and how many messages of the batch are left unread. */
  violation(failure: { code: DecodeError['code']; closeCode: number; message: string }, remaining: number): void;
}

/**
 * Delivers json batches one message at a time, counting bad frames in a row
 * across batches: each bad one within `tolerance` gets an error frame, the
 * next closes the connection with 1008 (policy).
 */
export function createJsonInbound(tolerance: number, named: ReadonlySet<string> | null = null): (messages: readonly string[], to: JsonDelivery) => void {
  let badFrames = 0;
  return (messages, to) => {
    for (let i = 0; i < messages.length && to.accepting(); i++) {
      const decoded = decodeJson(messages[i], named);
      if ('type' in decoded) {
        badFrames = 0;
        to.event(decoded);
      } else if (++badFrames > tolerance) {
        to.violation({ code: decoded.code, closeCode: POLICY_VIOLATION, message: `more than ${tolerance} bad frames in a row` }, messages.length - i - 1);
      } else {
        to.error(errorFrame(decoded.code, decoded.message));
      }
    }
  };
}
