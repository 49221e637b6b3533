import { __unsafe_getAllOwnEventDescriptors as ownEventDescriptors, createActor, fromCallback } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { connectionMachine, type AuthRejection } from '../../machines/connection.machine';
import { CloseCode } from '../../src/protocol/close-codes';
import { emptyCounters, isHibernation, type CloseRecord, type ConnectionEvent, type Hibernation } from '../../src/protocol/events';
import { createTestConnection, type TestConnection } from '../../src/testing';
import { scriptedProtocol } from '../machines/fakes';
import type { ModelSpec } from './harness';

/**
 * `restartWindow` is a delayed `raise`, not an `after`: the model sends its
 * `protocol.restartExpired` as an explicit event, and the implementation's
 * window is long enough never to expire by itself within a path.
 */
const delays = { heartbeatInterval: 1000, pongTimeout: 300, closeTimeout: 500, restartWindow: 1e9 };
/** One restart at most keeps one restart window pending at a time, and reaches both sides of the budget. */
const MAX_RESTARTS = 1;
const IDENTITY = { user: 'ada' };
const REJECTION: AuthRejection = { status: 403, message: 'not you' };

const closed = (code: number, reason: string): ConnectionEvent => ({ type: 'socket.closed', code, reason, counters: emptyCounters() });

function pick(record: CloseRecord) {
  return { code: record.code, reason: record.reason, clean: record.clean };
}

function observable(s: AnyMachineSnapshot) {
  const { code, reason, restarts, identity, protocol } = s.context;
  const record = s.status !== 'done' ? null : isHibernation(s.output) ? 'hibernated' : pick(s.output as CloseRecord);
  return { value: s.value, code, reason, restarts, identity, protocol: protocol !== null, record };
}

/** What a connection whose scripted protocol had started output as it hibernated. */
function hibernationOf(id: string): Hibernation {
  const protocol = createActor(scriptedProtocol, { input: { connectionId: id, identity: IDENTITY, maxTopics: 100 } });
  return { id, hibernated: true, protocol: protocol.getPersistedSnapshot(), identity: IDENTITY };
}

/**
 * The connection machine, driven through the test kit: the real machine with
 * the kit's fake socket bridge and a scripted protocol (it closes on
 * `close <code>`, throws on `throw`), on a SteppingClock. The client does
 * nothing by itself: the upgrade, every pong and close, the authentication's
 * answer are explicit events of the model. With `authenticate`, an
 * `authenticate` hook decides on the upgrade; with `lazy`, the protocol
 * starts with the client's first message; with `hibernate`, a quiet pong
 * ends the actor in `hibernated`; with `resume`, the connection starts as
 * one waking from hibernation (its scripted protocol resumed).
 */
export function connectionSpec({
  authenticate,
  lazy = false,
  hibernate = false,
  resume = false,
}: {
  authenticate: boolean;
  lazy?: boolean;
  hibernate?: boolean;
  resume?: boolean;
}): ModelSpec<TestConnection> {
  const id = 'model-1';
  const hibernation = resume ? hibernationOf(id) : undefined;
  // Paths are planned on the machine alone: no action runs, so the bridge is never told anything.
  const input = { id, transport: null, socket: { send: () => undefined }, authenticate, maxRestarts: MAX_RESTARTS, resume: hibernation };
  return {
    machine: connectionMachine,
    model: connectionMachine.provide({
      actors: { protocol: scriptedProtocol, authenticate: fromCallback(() => undefined) as never },
      // The scripted protocol keeps no timers and no actors: it can always be persisted.
      guards: { startsLazily: () => lazy, hibernates: () => hibernate, protocolCanHibernate: () => true },
    }) as AnyStateMachine,
    input,
    delays,
    events: {
      // Whether the connection was quiet since the last pong matters only where connections hibernate.
      'socket.pong': () => (hibernate ? [{ type: 'socket.pong', quiet: false }, { type: 'socket.pong', quiet: true }] : [{ type: 'socket.pong' }]),
      'socket.failed': () => [{ type: 'socket.failed', failure: { code: 'unsupported_data', closeCode: CloseCode.UnsupportedData, message: 'scripted accepts text frames only' } }],
      // Only a running protocol asks to close (a lazy one starts with the first message, `socket.data`).
      'protocol.close': (s) => (s.context.protocol === null ? [] : [{ type: 'protocol.close', code: 4100, reason: 'bye' }]),
      'xstate.error.actor.protocol': (s) =>
        s.context.protocol === null ? [] : [{ type: 'xstate.error.actor.protocol', actorId: 'protocol', error: new Error('protocol bug') }],
      'protocol.restartExpired': (s) => (s.context.restarts > 0 ? [{ type: 'protocol.restartExpired' }] : []),
      // The authenticate hook (the only other invoked actor that ends) answers with an identity, or refuses.
      'xstate.done.actor.*': (s) => [{ type: descriptorOf(s, 'xstate.done.actor.'), output: IDENTITY }],
      'xstate.error.actor.*': (s) => [{ type: descriptorOf(s, 'xstate.error.actor.'), error: REJECTION }],
      // The peer answers a close frame with its code, or drops (1006); before any close frame it closes with 1000 or drops.
      'socket.closed': (s) => {
        if (s.matches('terminating') || s.matches('rejected')) return [closed(CloseCode.Abnormal, '')];
        if (s.matches('closing')) return [closed(s.context.code, s.context.reason), closed(CloseCode.Abnormal, '')];
        return [closed(CloseCode.Normal, 'bye'), closed(CloseCode.Abnormal, '')];
      },
    },
    exec: {
      'socket.open': (conn) => conn.open(),
      'socket.pong': (conn, event) => conn.pong((event as Extract<ConnectionEvent, { type: 'socket.pong' }>).quiet ?? false),
      // The client's first message starts a lazy protocol, which answers it.
      'socket.data': (conn) => conn.send('first'),
      'socket.failed': (conn) => conn.sendBinary(),
      'socket.closed': (conn, event) => {
        const { code, reason } = event as Extract<ConnectionEvent, { type: 'socket.closed' }>;
        conn.close(code, reason);
      },
      'server.shutdown': (conn) => conn.shutdown(),
      'server.terminate': (conn) => conn.terminate(),
      'protocol.close': (conn, event) => conn.send(`close ${(event as Extract<ConnectionEvent, { type: 'protocol.close' }>).code}`),
      // While open the client's message crashes it; once closing, messages no longer reach it, so the test does.
      'xstate.error.actor.protocol': (conn) => {
        const snapshot = conn.actor.getSnapshot();
        if (snapshot.matches('open')) conn.send('throw');
        else snapshot.context.protocol!.send({ type: 'socket.messages', messages: ['throw'] });
      },
      'protocol.restartExpired': (conn) => conn.actor.send({ type: 'protocol.restartExpired' } as never),
      'xstate.done.actor.*': (conn) => conn.accept(IDENTITY),
      'xstate.error.actor.*': (conn) => conn.reject(REJECTION),
      // A hibernated connection's bridge found its ping unanswered; awake, the machine's own heartbeat decides.
      'socket.unresponsive': (conn) => conn.report({ type: 'socket.unresponsive' }),
      'outbox.congested': (conn) => conn.report({ type: 'outbox.congested' }),
      'outbox.flowing': (conn) => conn.report({ type: 'outbox.flowing' }),
      'outbox.overflow': (conn) => conn.report({ type: 'outbox.overflow' }),
    },
    abstract: observable,
    start: (inspect) =>
      createTestConnection(lazy ? { name: 'scripted', machine: scriptedProtocol, start: 'message' } : scriptedProtocol, {
        ...delays,
        id: input.id,
        protocolName: 'scripted',
        identity: authenticate ? 'manual' : undefined,
        maxRestarts: MAX_RESTARTS,
        open: false,
        autoPong: false,
        autoClose: false,
        inspect,
        hibernate,
        resume: hibernation,
      }),
    observe: (conn) => observable(conn.actor.getSnapshot()),
    check(conn, event: EventObject, before, after) {
      const last = conn.commands().at(-1);
      // What the machine decided reaches the socket: a ping per heartbeat, the close frame, the upgrade, the refusal.
      if (event.type.startsWith('xstate.after.heartbeatInterval')) expect(last).toEqual({ type: 'socket.ping' });
      if (after.matches('closing') && !before.matches('closing')) expect(last).toEqual({ type: 'socket.close', code: after.context.code, reason: after.context.reason });
      if (after.matches('terminating') && !before.matches('terminating')) expect(last).toEqual({ type: 'socket.terminate' });
      if (after.matches('rejected')) expect(last).toEqual({ type: 'socket.refuse', status: after.context.code - 4000, message: after.context.reason });
      if (after.matches({ connecting: 'upgrading' }) && !before.matches({ connecting: 'upgrading' })) expect(last).toEqual({ type: 'socket.upgrade' });
      if (event.type === 'socket.data') expect(conn.sent().at(-1)).toBe('first');
      // A restarted protocol is wired, and the client told.
      if (event.type === 'xstate.error.actor.protocol' && after.matches('open')) {
        expect(conn.sent().at(-1)).toBe(JSON.stringify({ type: 'error', code: 'protocol_crash', message: 'the scripted protocol failed and was restarted' }));
        expect(conn.protocol).toBe(conn.actor.getSnapshot().context.protocol);
      }
    },
  };
}

/** The type of the done or error event of the actor invoked in the snapshot's state (the authenticate hook). */
function descriptorOf(s: AnyMachineSnapshot, prefix: string): string {
  const descriptor = ownEventDescriptors(s).find((e: string) => e.startsWith(prefix) && !e.endsWith('.protocol'));
  if (descriptor === undefined) throw new Error(`no ${prefix} event in ${JSON.stringify(s.value)}`);
  return descriptor;
}
