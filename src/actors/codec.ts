import type { ClientEvent, JsonMessage } from '../protocol/events';

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
