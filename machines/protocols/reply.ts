/* eslint-disable @typescript-eslint/no-explicit-any -- helpers usable in any protocol machine, whatever its context and events */
import { enqueueActions } from 'xstate';
import type { ProtocolEmitted } from '../../src/protocol/events';
import { replyDeadlineMachine, type ReplyTimeoutEvent } from './reply-deadline.machine';

/**
 * Request/reply for json protocols, correlated by `ref`. Use these as
 * actions in a protocol machine:
 *
 * @example
 * on: {
 *   'client.lookup': { actions: [startReplyDeadline(({ event }) => String(event.message.ref), 5000), 'askBackend'] },
 *   'backend.answer': { actions: reply(({ event }) => ({ ref: event.ref, payload: event.value })) },
 *   'reply.timeout': { actions: replyTimeout() },
 * }
 */
type ActionArgs = { event: any; context: any };
type Resolve<T> = T | ((args: ActionArgs) => T);
export type ReplyContent = { ref: string; payload?: unknown } | { ref: string; error: { code: string; message?: string } };

function resolve<T>(value: Resolve<T>, args: ActionArgs): T {
  return typeof value === 'function' ? (value as (args: ActionArgs) => T)(args) : value;
}

/** The id of the deadline actor of `ref`, among the protocol's children. */
export const replyDeadlineId = (ref: string): string => `reply-deadline:${ref}`;

/** Starts a deadline for the reply to `ref`: past `timeout` ms the protocol gets `reply.timeout` (answer it with `replyTimeout()`). */
export function startReplyDeadline(ref: Resolve<string>, timeout: Resolve<number>): any {
  return enqueueActions((args: any) => {
    const key = resolve(ref, args);
    args.enqueue.spawnChild(replyDeadlineMachine, { id: replyDeadlineId(key), input: { ref: key, timeout: resolve(timeout, args) } });
  });
}

/** Replies to `ref` (ok with a payload, or an error with a code) and cancels its deadline, if any. */
export function reply(content: Resolve<ReplyContent>): any {
  return enqueueActions((args: any) => {
    const r = resolve(content, args);
    const id = replyDeadlineId(r.ref);
    if (args.self.getSnapshot().children[id] !== undefined) args.enqueue.stopChild(id);
    const emitted: ProtocolEmitted =
      'error' in r
        ? { type: 'reply', ref: r.ref, status: 'error', code: r.error.code, message: r.error.message }
        : { type: 'reply', ref: r.ref, status: 'ok', payload: r.payload };
    args.enqueue.emit(emitted);
  });
}

/** Answers a passed deadline (`reply.timeout`) with the error reply of code `timeout`. */
export function replyTimeout(): any {
  return enqueueActions((args: any) => {
    const { ref } = args.event as ReplyTimeoutEvent;
    args.enqueue.stopChild(replyDeadlineId(ref));
    const emitted: ProtocolEmitted = { type: 'reply', ref, status: 'error', code: 'timeout', message: 'no reply within the deadline' };
    args.enqueue.emit(emitted);
  });
}
