import { isDeepStrictEqual } from 'node:util';
import { __unsafe_getAllOwnEventDescriptors as ownEventDescriptors } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import type { Codec } from '../../src/actors/codec';
import type { JsonMessage, ProtocolActorInput, ProtocolInput } from '../../src/protocol/events';
import { createTestConnection, type TestConnection } from '../../src/testing';
import type { ModelSpec } from './harness';

export interface ProtocolModelOptions {
  codec?: Codec;
  /** text: inbound batches the model offers wherever the protocol accepts `socket.messages`. */
  batches?: readonly (readonly string[])[];
  /** json: client messages the model offers, each as the `client.<type>` event the codec makes of it. */
  messages?: readonly JsonMessage[];
  /** Caps the protocol input's `maxTopics` (a small cap keeps the model finite and reaches the limit). */
  maxTopics?: number;
  /** Delays the protocol is provided with, by name (the kit runs them on its SteppingClock). */
  delays?: Record<string, number>;
  /** A check of what the server wrote for one model event, independent of the machine (an oracle). */
  check?(event: EventObject, frames: string[], before: AnyMachineSnapshot): void;
}

const DEFAULT_BATCHES = [['hello'], ['a', 'b']];

/** Sets (and Maps) as sorted arrays, so that states serialize faithfully and compare by content. */
function plain(value: unknown): unknown {
  if (value instanceof Set) return [...value].map(plain).sort();
  if (value instanceof Map) return [...value].map(([k, v]) => [k, plain(v)]).sort();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/**
 * Any protocol machine, driven inside the real connection machine through the
 * test kit. A text protocol's `socket.messages` is one socket read; a json
 * protocol's `client.<type>` event is one JSON frame the kit decodes as the
 * runtime does; any other event goes to the protocol actor as it is.
 * Compared on the protocol's state value and context.
 */
export function protocolSpec(machine: AnyStateMachine, options: ProtocolModelOptions = {}): ModelSpec<TestConnection> {
  const codec = options.codec ?? 'text';
  const input: ProtocolActorInput = { connectionId: 'test-1', identity: null, maxTopics: options.maxTopics ?? 100 };
  const observable = (s: { value?: unknown; context?: unknown }) => ({ value: s.value, context: plain(s.context ?? null) });
  const sentBefore = new WeakMap<TestConnection, number>();
  const clientEvent = (message: JsonMessage): EventObject => ({ type: `client.${message.type}`, message }) as EventObject;
  const messages = options.messages ?? [];
  return {
    machine,
    model: options.delays === undefined ? machine : machine.provide({ delays: options.delays }),
    input,
    delays: options.delays ?? {},
    events: {
      'socket.messages': () => (options.batches ?? DEFAULT_BATCHES).map((batch): ProtocolInput => ({ type: 'socket.messages', messages: batch })),
      // Every sample whose type has its own transition goes to it; the rest to a catch-all (`*`, `client.*`).
      'client.*': (s) => messages.map(clientEvent).filter((e) => !ownDescriptors(s).includes(e.type) && ownDescriptors(s).includes('client.*')),
      '*': (s) => messages.map(clientEvent).filter((e) => !ownDescriptors(s).includes(e.type)),
      ...Object.fromEntries(
        [...new Set(messages.map((m) => `client.${m.type}`))].map((type) => [type, () => messages.map(clientEvent).filter((e) => e.type === type)]),
      ),
    },
    exec: codec === 'json' ? { 'client.*': sendJson, '*': sendJson } : { 'socket.messages': (conn, event) => conn.send((event as ProtocolInput).messages) },
    execOther: (conn, event) => conn.protocol.send(event),
    abstract: (s: AnyMachineSnapshot) => observable(s),
    start: (inspect) => createTestConnection({ name: machine.id, machine: machine.provide({ delays: options.delays ?? {} }), codec }, { inspect, maxTopics: input.maxTopics }),
    observe: (conn) => observable(conn.protocol.getSnapshot() as AnyMachineSnapshot),
    check(conn, event, before) {
      const frames = conn.sent().slice(sentBefore.get(conn) ?? 0);
      sentBefore.set(conn, conn.sent().length);
      options.check?.(event, frames, before);
    },
  };
}

const sendJson = (conn: TestConnection, event: EventObject): void => conn.sendJson((event as unknown as { message: JsonMessage }).message);

function ownDescriptors(s: AnyMachineSnapshot): string[] {
  return ownEventDescriptors(s);
}

/** Echo: every message of a batch comes back as `Echo: <text>`, in order. */
export function echoReplies(event: EventObject, frames: string[]): void {
  const expected = (event as ProtocolInput).messages.map((text) => `Echo: ${text}`);
  if (!isDeepStrictEqual(frames, expected)) throw new Error(`sent ${JSON.stringify(frames)}, expected ${JSON.stringify(expected)}`);
}

/** Topics: every request gets exactly one reply, correlated by its ref. */
export function oneReplyPerRequest(event: EventObject, frames: string[]): void {
  const { message } = event as unknown as { message: JsonMessage };
  const ref = typeof message.ref === 'string' || typeof message.ref === 'number' ? String(message.ref) : null;
  const replies = frames.map((f) => JSON.parse(f) as { type: string; ref?: unknown }).filter((f) => f.type === 'reply');
  if (replies.length !== 1 || replies[0].ref !== ref) throw new Error(`expected one reply with ref ${JSON.stringify(ref)}, got ${JSON.stringify(frames)}`);
}
