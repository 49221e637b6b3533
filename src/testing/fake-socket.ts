import type { AnyActorRef, EventObject } from 'xstate';
import { createJsonInbound, errorFrame, type Codec } from '../actors/codec';
import { connectionCounters, Outbox, type OutboxPolicy, type OutboxSink } from '../actors/outbox';
import { leaveTopics, wireProtocol, type Topics } from '../actors/protocol-wiring';
import type { Broker } from '../broker/broker';
import { CloseCode } from '../protocol/close-codes';
import type { ConnectionEvent, SocketCommand, SocketEvent, SocketPort } from '../protocol/events';

export interface FakeSocketOptions {
  /** The protocol's name, used in close reasons and error frames as the real bridge does. */
  protocolName: string;
  codec: Codec;
  /** json: bad frames tolerated in a row before the connection closes with 1008. */
  badFrameTolerance: number;
  /** json: the `client.<type>` events the protocol names; other types arrive as `client.*`, as in the real bridge. */
  clientTypes: ReadonlySet<string> | null;
  broker: Broker;
  /** Outbox limit in bytes (queued plus the client's unread bytes). */
  outboxLimit: number;
  outboxPolicy: OutboxPolicy;
  /** Whether the client completes the upgrade as soon as the connection asks for it. */
  open: boolean;
  /** Whether the client answers every ping at once, as ws clients do. */
  autoPong: boolean;
  /** Whether the client answers a close frame (and a dropped socket reports its close) at once. */
  autoClose: boolean;
}

/**
 * An in-memory socket bridge with the real bridge's contract
 * (`src/actors/socket.bridge.ts`), built on the same parts: the real `Outbox`
 * (flushed at once instead of once per event-loop turn) writing into memory,
 * the real protocol wiring and the real json decoding. Inbound messages reach
 * the protocol batched per read until the connection decides to close (later
 * ones count as read after close); a binary frame fails the connection with
 * 1003 and invalid UTF-8 with 1007, as ws reports them.
 */
export function createFakeSocket(options: FakeSocketOptions) {
  const { protocolName, codec, badFrameTolerance, broker } = options;
  const commands: SocketCommand[] = [];
  const written: string[] = [];
  const emitted: EventObject[] = [];
  const inbound = { messagesIn: 0, bytesIn: 0, readAfterClose: 0 };
  let report: ((event: ConnectionEvent) => void) | null = null;
  let protocol: AnyActorRef | null = null;
  let unwire: (keepTopics?: boolean) => void = () => undefined;
  // While hibernating: the topics the protocol had joined, handed to the protocol resumed later.
  let joined: Topics | null = null;
  // Anything read or written since the last pong: as the real bridge does, a pong says whether the connection was quiet.
  let active = false;
  let id = '';
  let accepting = true;
  let closed = false;
  const deliverJson = createJsonInbound(badFrameTolerance, options.clientTypes);
  // A stalled client reads nothing: frames pile up in the socket's buffer (ws's bufferedAmount) until it resumes.
  let stalled = false;
  const unread: string[] = [];
  let unreadBytes = 0;
  const drainListeners: (() => void)[] = [];

  const sink: OutboxSink = {
    isOpen: () => !closed,
    bufferedAmount: () => unreadBytes,
    write(messages) {
      active = true;
      if (!stalled) return void written.push(...messages);
      unread.push(...messages);
      for (const message of messages) unreadBytes += Buffer.byteLength(message);
    },
    onDrain: (listener) => void drainListeners.push(listener),
  };
  const outbox = new Outbox(sink, {
    limit: options.outboxLimit,
    policy: options.outboxPolicy,
    schedule: (flush) => flush(),
    onCongestion: (congested) => report?.({ type: congested ? 'outbox.congested' : 'outbox.flowing' }),
    onOverflow: () => report?.({ type: 'outbox.overflow' }),
  });

  // The bridge is attached to the connection actor inside createTestConnection, before any control is used.
  const send = (event: ConnectionEvent): void => report!(event);
  const wire = (ref: AnyActorRef): void => {
    unwire();
    protocol = ref;
    const unwireRuntime = wireProtocol(
      ref,
      { connectionId: id, outbox, broker, requestClose: (code, reason) => send({ type: 'protocol.close', code, reason }) },
      joined,
    );
    joined = null;
    const all = ref.on('*', (event: EventObject) => void emitted.push(event));
    unwire = (keepTopics = false) => {
      joined = unwireRuntime(keepTopics);
      all.unsubscribe();
      unwire = () => undefined;
    };
  };
  const pong = (quiet?: boolean): void => {
    const wasQuiet = !active && outbox.queued === 0;
    active = false;
    send({ type: 'socket.pong', quiet: quiet ?? wasQuiet });
  };
  const fail = (failure: Extract<SocketEvent, { type: 'socket.failed' }>['failure']): void => {
    accepting = false;
    send({ type: 'socket.failed', failure });
  };

  const port: SocketPort = {
    send(command) {
      commands.push(command);
      switch (command.type) {
        case 'socket.ping':
          if (options.autoPong && !closed) pong();
          break;
        case 'socket.protocol':
          wire(command.protocol as AnyActorRef);
          if (command.restarted) outbox.push(errorFrame('protocol_crash', `the ${protocolName} protocol failed and was restarted`));
          break;
        case 'socket.upgrade':
          if (options.open) send({ type: 'socket.open' });
          break;
        case 'socket.refuse':
          accepting = false;
          if (options.autoClose) controls.closed(CloseCode.Abnormal, '');
          break;
        case 'socket.close':
          accepting = false;
          outbox.flush({ force: true });
          if (options.autoClose) controls.closed(command.code, command.reason);
          break;
        case 'socket.terminate':
          accepting = false;
          if (options.autoClose) controls.closed(CloseCode.Abnormal, '');
          break;
      }
    },
  };

  const controls = {
    /** The connection's socket bridge (`input.socket`). */
    port,
    /** Connects the bridge to its connection actor, before the actor starts. */
    attach(connectionId: string, to: (event: ConnectionEvent) => void): void {
      id = connectionId;
      report = to;
    },
    /** The connection actor has ended: the protocol is let go of, and any topics it held while hibernating. */
    dispose(): void {
      unwire();
      joined = leaveTopics(joined);
    },
    /** The connection actor has hibernated: the protocol is let go of, its topics kept for the protocol resumed later. */
    hibernate(): void {
      unwire(true);
      protocol = null;
    },
    /** The client answers a ping; `quiet` says whether nothing was read or written since the last pong (default: whether that is so). */
    pong,
    commands,
    written,
    emitted,
    /** The protocol actor wired now (a restart replaces it). */
    protocol: (): AnyActorRef | null => protocol,
    /** Whether inbound messages still reach the protocol. */
    accepting: (): boolean => accepting && !closed,
    /** The client stops reading: what the server writes waits in the socket's buffer, and the outbox sees it as unsent. */
    stall(): void {
      stalled = true;
    },
    /** The client reads everything waiting for it, and keeps reading: the socket's buffer drains. */
    resume(): void {
      stalled = false;
      written.push(...unread.splice(0));
      unreadBytes = 0;
      for (const listener of drainListeners) listener();
    },
    /** Reports an event as the socket bridge would. */
    report(event: SocketEvent): void {
      send(event);
    },
    /** One socket read: the messages reach the protocol as one batch (json: one event each), or count as read after close. */
    deliver(messages: readonly string[]): void {
      if (messages.length === 0) return;
      active = true;
      // As the real bridge does, the first message starts a lazy protocol; the connection answers with `socket.protocol` at once.
      if (controls.accepting() && protocol === null) send({ type: 'socket.data' });
      if (!controls.accepting() || protocol === null) {
        inbound.readAfterClose += messages.length;
        return;
      }
      inbound.messagesIn += messages.length;
      for (const message of messages) inbound.bytesIn += Buffer.byteLength(message);
      if (codec === 'text') {
        protocol.send({ type: 'socket.messages', messages });
        return;
      }
      // As the real bridge does: one event per message, in order; a restart may replace the protocol mid-batch.
      deliverJson(messages, {
        accepting: () => accepting,
        event: (event) => protocol!.send(event),
        error: (frame) => outbox.push(frame),
        violation: (failure, remaining) => {
          inbound.readAfterClose += remaining;
          fail(failure);
        },
      });
    },
    /** A frame the protocol cannot take (binary on a text protocol, RFC 6455 7.4.1: 1003) or that ws rejects (invalid UTF-8: 1007). */
    reject(code: 'unsupported_data' | 'invalid_utf8'): void {
      if (!controls.accepting()) {
        inbound.readAfterClose++;
        return;
      }
      fail(
        code === 'unsupported_data'
          ? { code, closeCode: CloseCode.UnsupportedData, message: `${protocolName} accepts text frames only` }
          : { code, closeCode: CloseCode.InvalidPayload, message: 'Invalid UTF-8 sequence' },
      );
    },
    /** The socket closes with the peer's code (1006 for a drop); reported once, as ws does. */
    closed(code: number, reason: string): void {
      if (closed) return;
      closed = true;
      accepting = false;
      outbox.close();
      send({ type: 'socket.closed', code, reason, counters: connectionCounters(inbound, outbox.stats) });
    },
  };
  return controls;
}

export type FakeSocket = ReturnType<typeof createFakeSocket>;
