import { deepStrictEqual, fail } from 'node:assert';
import { createActor } from 'xstate';
import type { Actor, AnyActorLogic, AnyActorRef, EventObject, InspectionEvent, Observer, StateValue } from 'xstate';
import { connectionMachine, type AuthRejection } from '../../machines/connection.machine';
import { clientEventTypes, DEFAULT_BAD_FRAME_TOLERANCE, type Codec } from '../actors/codec';
import type { Broker } from '../broker/broker';
import { createMemoryBroker } from '../broker/memory.broker';
import { DEFAULT_OUTBOX_LIMIT } from '../actors/outbox';
import { isHibernation, type CloseRecord, type ConnectionEvent, type Hibernation, type OverflowPolicy, type SocketCommand, type SocketEvent } from '../protocol/events';
import { canPersist, resumable } from '../actors/hibernation';
import { createAuthenticator } from './authenticator';
import { SteppingClock } from './clock';
import type { ProtocolStart } from '../protocols';
import { createFakeSocket } from './fake-socket';

/** A protocol machine, or a protocol definition that names one (and its codec). */
export type TestProtocol = AnyActorLogic | { name: string; machine: AnyActorLogic; codec?: Codec; start?: ProtocolStart };

export interface TestConnectionOptions {
  /** The connection's id (the protocol's `connectionId`). Default `test-1`. */
  id?: string;
  /** The protocol's name in close reasons and error frames. Default: the definition's name, else the machine's id, else `protocol`. */
  protocolName?: string;
  /** How inbound frames are decoded. Default: the definition's codec, else `text`. */
  codec?: Codec;
  /** json: bad frames tolerated in a row before the connection closes with 1008. Default 10. */
  badFrameTolerance?: number;
  /** Bytes a connection's outbox may hold, counting what the client has not read yet, before `slowConsumer` applies. Default 1 MiB. */
  outboxLimit?: number;
  /** What happens to a reliable message past the outbox limit: `close` (4003), `drop-newest` or `drop-oldest`. Default `close`. */
  slowConsumer?: OverflowPolicy;
  /** The same for messages a protocol marks volatile. Default `drop-newest`. */
  slowConsumerVolatile?: OverflowPolicy;
  /** Where the protocol's topics live; pass one broker to several test connections to test them together. Default: a fresh in-memory broker. */
  broker?: Broker;
  /**
   * The identity an `authenticate` hook returned, handed to the protocol as input; or `'manual'` to
   * hold the connection in `authenticating` until `accept()` or `reject()`. Default: no authentication (identity `null`).
   */
  identity?: unknown;
  /** Topics the protocol may hold at once (its input's `maxTopics`). Default 100. */
  maxTopics?: number;
  /** Protocol crashes survived (each restarts it) within `restartWindow` before the connection closes with 1011. Default 5. */
  maxRestarts?: number;
  /** Milliseconds a protocol crash counts against `maxRestarts`. Default 10000. */
  restartWindow?: number;
  /** Milliseconds between heartbeat pings. Default 25000 (the server's default). */
  heartbeatInterval?: number;
  /** Milliseconds the client has to answer a ping. Default 10000. */
  pongTimeout?: number;
  /** Milliseconds the client has to answer the close frame. Default 5000. */
  closeTimeout?: number;
  /** Whether the client completes the upgrade at once, as a real one does; with `false`, call `open()`. Default `true`. */
  open?: boolean;
  /** Whether the client answers every ping at once, as ws clients do; with `false`, call `pong()`. Default `true`. */
  autoPong?: boolean;
  /**
   * Whether the client answers the server's close frame at once (a clean
   * close), and a terminated or refused socket reports its drop (1006) at
   * once; with `false` the connection stays in `closing`, `terminating` or
   * `rejected` until `close()`. Default `true`.
   */
  autoClose?: boolean;
  /** An XState inspection observer for the connection actor and its children. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * Whether the connection hibernates, as on a server with `hibernate` on:
   * a pong after a quiet heartbeat period ends the actor, and the next event
   * for the connection starts a fresh one (`actor` is then that one) with the
   * protocol resumed from its snapshot. While it hibernates the kit sends no
   * pings. Default `false`.
   */
  hibernate?: boolean;
  /** Starts the connection as one waking from hibernation: what an earlier connection actor output as it hibernated. */
  resume?: Hibernation;
}

/** A protocol running inside the real connection machine, in memory, on simulated time. */
export interface TestConnection {
  /** The connection actor (the real connection machine); after a hibernation, the one that woke. */
  readonly actor: Actor<typeof connectionMachine>;
  /** Whether the connection hibernates now (with `hibernate: true`): its last actor ended, the next event starts a fresh one. */
  hibernated(): boolean;
  /** The protocol actor the connection runs now (a restart after a crash replaces it). Throws before the connection opens, and before the first message for a lazy protocol. */
  readonly protocol: AnyActorRef;
  /** The simulated clock every delay of the connection and its protocol runs on. */
  readonly clock: SteppingClock;
  // Every action below throws if the connection actor has failed (a bug in a machine: a failure is never a normal outcome).

  /** The client sends a text message, or several arriving in one socket read (a text protocol gets them as one batch). */
  send(messages: string | readonly string[]): void;
  /** The client sends a JSON-encoded message (or several in one read). */
  sendJson(...messages: unknown[]): void;
  /** The client sends a binary frame: a text protocol closes with 1003. */
  sendBinary(): void;
  /** The client sends a text frame's raw bytes: invalid UTF-8 closes with 1007, as ws does; valid UTF-8 is sent as text. */
  sendBytes(bytes: Uint8Array): void;
  /** Every frame the client has read so far, in order (what the protocol sent, replies, topic messages, error frames). */
  sent(): string[];
  /** The client stops reading: frames wait in the socket's buffer, so the outbox congests and, past its limit, applies `slowConsumer`. */
  stall(): void;
  /** The client reads what waits and keeps reading. */
  resume(): void;
  /**
   * Asserts that the frames written since the last `expectSent` (or since
   * the start) are exactly `messages`, in order; objects are compared with
   * the frames parsed as JSON. With no argument it asserts that nothing new
   * was written.
   */
  expectSent(...messages: (string | object)[]): void;
  /** Every event the protocol emitted (`send`, `reply`, `close`, `subscribe`, ..., and any of its own), in order. */
  emitted(): EventObject[];
  /**
   * Asserts that the server closed the connection with `code` (and `reason`,
   * if given): the code of its close frame, or once closed, of its close record
   * (which holds codes such as 4000 that a terminated peer never sees).
   */
  expectClosed(code: number, reason?: string): void;
  /** Moves simulated time forward by `ms`, hop by hop, so chained delays fire in order. */
  advance(ms: number): void;
  /** The connection's state value, e.g. `{ open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } }` or `'closing'`. */
  state(): StateValue;
  /** The protocol's state value (for protocols that are state machines), `undefined` before the upgrade. */
  protocolState(): StateValue | undefined;
  /** How many heartbeat pings the server has sent. */
  pings(): number;
  /** The client answers a ping; `quiet` overrides whether the connection was quiet since the last pong (default: whether it was). */
  pong(quiet?: boolean): void;
  /** The client completes the upgrade (with `open: false`). */
  open(): void;
  /** The `authenticate` hook returns `identity` (with `identity: 'manual'`). */
  accept(identity?: unknown): void;
  /** The `authenticate` hook refuses the upgrade (with `identity: 'manual'`): HTTP 401 by default, or 403. */
  reject(rejection?: AuthRejection): void;
  /**
   * The client closes the connection, or answers the server's close frame.
   * Default code: 1006 if the server terminated or refused the socket, the
   * server's close code if it sent a close frame, else 1000.
   */
  close(code?: number, reason?: string): void;
  /** The server shuts down: the connection closes with 1001, as in a drain. */
  shutdown(): void;
  /** The drain deadline passes: the connection terminates the socket. */
  terminate(): void;
  /** Reports a raw socket bridge event, e.g. `{ type: 'outbox.overflow' }`. */
  report(event: SocketEvent): void;
  /** What the connection told the socket so far: upgrade, pings, the close frame, terminate, ... */
  commands(): SocketCommand[];
  /** The close record, once the connection has closed. */
  record(): CloseRecord | undefined;
  /** Stops the connection and protocol actors. */
  stop(): void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/**
 * Runs `protocol` inside the real connection machine, in memory: no sockets,
 * no real timers (a `SteppingClock`), and a fake socket bridge built on the
 * real outbox, protocol wiring and json decoding. Helpers in the spirit of
 * Phoenix's ChannelTest.
 *
 * @example
 * const conn = createTestConnection(echoMachine);
 * conn.send('hi');
 * conn.expectSent('Echo: hi');
 * conn.shutdown();
 * conn.expectClosed(1001);
 */
export function createTestConnection(protocol: TestProtocol, options: TestConnectionOptions = {}): TestConnection {
  const definition = 'machine' in protocol ? protocol : undefined;
  const logic = definition?.machine ?? (protocol as AnyActorLogic);
  const machineId = (logic as { id?: unknown }).id;
  const protocolName = options.protocolName ?? definition?.name ?? (typeof machineId === 'string' && machineId !== '(machine)' ? machineId : 'protocol');
  const socket = createFakeSocket({
    protocolName,
    codec: options.codec ?? definition?.codec ?? 'text',
    badFrameTolerance: options.badFrameTolerance ?? DEFAULT_BAD_FRAME_TOLERANCE,
    clientTypes: clientEventTypes(logic),
    broker: options.broker ?? createMemoryBroker(),
    outboxLimit: options.outboxLimit ?? DEFAULT_OUTBOX_LIMIT,
    outboxPolicy: { reliable: options.slowConsumer ?? 'close', volatile: options.slowConsumerVolatile ?? 'drop-newest' },
    open: options.open ?? true,
    autoPong: options.autoPong ?? true,
    autoClose: options.autoClose ?? true,
  });
  let authenticator: AnyActorRef | null = null;
  const clock = new SteppingClock();
  const machine = connectionMachine.provide({
    actors: {
      protocol: resumable(logic),
      // A machine, not a promise: it answers synchronously, so the whole connection stays on simulated time.
      authenticate: createAuthenticator(options.identity, (self) => (authenticator = self)) as never,
    },
    delays: {
      heartbeatInterval: options.heartbeatInterval ?? 25_000,
      pongTimeout: options.pongTimeout ?? 10_000,
      closeTimeout: options.closeTimeout ?? 5_000,
      restartWindow: options.restartWindow ?? 10_000,
    },
    guards: {
      startsLazily: () => definition?.start === 'message',
      hibernates: () => options.hibernate ?? false,
      protocolCanHibernate: ({ context }) => canPersist(context.protocol),
    },
  });
  const input = {
    id: options.id ?? 'test-1',
    transport: null,
    socket: socket.port,
    authenticate: options.identity !== undefined,
    maxRestarts: options.maxRestarts,
    maxTopics: options.maxTopics,
  };
  // As the server's connection pool does: a hibernated connection wakes with the next event for it.
  let hibernation: Hibernation | null = null;
  const begin = (resume: Hibernation | undefined) => {
    const next = createActor(machine, { clock, input: { ...input, resume }, inspect: options.inspect });
    // Observed, a failure stays in band: the kit call that caused it (or the next one) throws it, instead of XState rethrowing it later.
    next.subscribe({
      complete: () => {
        const output = next.getSnapshot().output;
        if (!isHibernation(output)) return socket.dispose();
        hibernation = output;
        socket.hibernate();
      },
      error: () => socket.dispose(),
    });
    return next;
  };
  let actor = begin(options.resume);
  const deliver = (event: ConnectionEvent): void => {
    if (hibernation !== null) {
      actor = begin(hibernation);
      hibernation = null;
      actor.start();
    }
    actor.send(event);
  };
  socket.attach(input.id, deliver);
  actor.start();
  /** Runs a step of the test, then throws if the connection actor has failed. */
  const step =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      alive();
      fn(...args);
      alive();
    };
  const alive = (): void => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status === 'error') throw new Error(`statewire/testing: the connection actor failed: ${String(snapshot.error)}`, { cause: snapshot.error });
  };
  let seen = 0;

  const closeFrame = () => socket.commands.find((c): c is Extract<SocketCommand, { type: 'socket.close' }> => c.type === 'socket.close');
  const record = (): CloseRecord | undefined => {
    const snapshot = actor.getSnapshot();
    // A hibernated connection's actor is done too, but the connection has not closed: no record.
    return snapshot.status === 'done' && !isHibernation(snapshot.output) ? snapshot.output : undefined;
  };
  const current = (): AnyActorRef => {
    const ref = socket.protocol();
    if (ref === null) {
      throw new Error(
        `statewire/testing: no protocol runs before the connection opens, nor a lazy one (start: 'message') before the first message (the connection is ${JSON.stringify(actor.getSnapshot().value)})`,
      );
    }
    return ref;
  };
  const authenticating = (): AnyActorRef => {
    if (authenticator === null || !actor.getSnapshot().matches({ connecting: 'authenticating' })) {
      throw new Error("statewire/testing: accept() and reject() need identity: 'manual' and a connection in authenticating");
    }
    return authenticator;
  };

  return {
    get actor() {
      return actor;
    },
    hibernated: () => hibernation !== null,
    get protocol() {
      return current();
    },
    clock,
    send: step((messages: string | readonly string[]) => socket.deliver(typeof messages === 'string' ? [messages] : [...messages])),
    sendJson: step((...messages: unknown[]) => socket.deliver(messages.map((message) => JSON.stringify(message)))),
    sendBinary: step(() => socket.reject('unsupported_data')),
    sendBytes: step((bytes: Uint8Array) => {
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        socket.reject('invalid_utf8');
        return;
      }
      socket.deliver([text]);
    }),
    sent: () => [...socket.written],
    stall: step(() => socket.stall()),
    resume: step(() => socket.resume()),
    expectSent(...messages) {
      const fresh = socket.written.slice(seen);
      seen = socket.written.length;
      const actual = fresh.map((frame, i) => (typeof messages[i] === 'object' ? parseOr(frame) : frame));
      deepStrictEqual(actual, messages, `expected the server to send ${JSON.stringify(messages)}, it sent ${JSON.stringify(fresh)}`);
    },
    emitted: () => [...socket.emitted],
    expectClosed(code, reason) {
      const snapshot = actor.getSnapshot();
      const closing = record() ?? closeFrame() ?? (snapshot.context.code === null ? undefined : snapshot.context);
      if (closing === undefined || closing.code === null) {
        fail(`expected the connection to close with ${code}, but it is ${JSON.stringify(snapshot.value)}`);
      }
      const actual = reason === undefined ? { code: closing.code } : { code: closing.code, reason: closing.reason };
      const expected = reason === undefined ? { code } : { code, reason };
      deepStrictEqual(actual, expected, `expected the connection to close with ${JSON.stringify(expected)}, it closed with ${JSON.stringify(actual)}`);
    },
    advance: step((ms: number) => clock.advance(ms)),
    state: () => actor.getSnapshot().value,
    protocolState() {
      const ref = socket.protocol();
      return ref === null ? undefined : (ref.getSnapshot() as { value?: StateValue }).value;
    },
    pings: () => socket.commands.filter((c) => c.type === 'socket.ping').length,
    pong: step((quiet?: boolean) => socket.pong(quiet)),
    open: step(() => socket.report({ type: 'socket.open' })),
    accept: step((identity: unknown = null) => authenticating().send({ type: 'accept', identity })),
    reject: step((rejection: AuthRejection = {}) => authenticating().send({ type: 'reject', rejection })),
    close: step((code?: number, reason?: string) => {
      const frame = closeFrame();
      if (code !== undefined) socket.closed(code, reason ?? '');
      else if (socket.commands.some((c) => c.type === 'socket.terminate' || c.type === 'socket.refuse')) socket.closed(1006, reason ?? '');
      else if (frame !== undefined) socket.closed(frame.code, reason ?? frame.reason);
      else socket.closed(1000, reason ?? '');
    }),
    shutdown: step(() => deliver({ type: 'server.shutdown' })),
    terminate: step(() => deliver({ type: 'server.terminate' })),
    report: step((event: SocketEvent) => socket.report(event)),
    commands: () => [...socket.commands],
    record,
    stop: () => actor.stop(),
  };
}

function parseOr(frame: string): unknown {
  try {
    return JSON.parse(frame);
  } catch {
    return frame;
  }
}
