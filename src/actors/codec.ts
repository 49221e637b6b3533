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

/** Decodes one json frame into the protocol's event, or says why it cannot. */
export function decodeJson(text: string): ClientEvent | DecodeError {
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
  return { type: `client.${message.type}`, message } as ClientEvent;
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
export function createJsonInbound(tolerance: number): (messages: readonly string[], to: JsonDelivery) => void {
  let badFrames = 0;
  return (messages, to) => {
    for (let i = 0; i < messages.length && to.accepting(); i++) {
      const decoded = decodeJson(messages[i]);
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
