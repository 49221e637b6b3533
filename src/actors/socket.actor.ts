import { fromCallback } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { WebSocket, type WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { SocketBridgeInput } from '../../machines/connection.machine';
import type { Broker } from '../broker/broker';
import { CloseCode } from '../protocol/close-codes';
import type { ErrorCode } from '../protocol/errors';
import { emptyCounters, type ConnectionCounters, type SocketCommand, type SocketEvent, type SocketFailure } from '../protocol/events';
import { createJsonInbound, errorFrame, type Codec, type JsonDelivery } from './codec';
import { encodeTextFrames } from './frames';
import { refuseUpgrade, type UpgradeTransport } from './listener.actor';
import { connectionCounters, Outbox, type OutboxPolicy, type OutboxSink } from './outbox';
import { wireProtocol } from './protocol-wiring';

export type { Codec };

export interface SocketBridgeOptions {
  /** The protocol's name, used in close reasons. */
  protocolName: string;
  codec: Codec;
  logger: Logger;
  /** Completes upgrades (maxPayload, subprotocol negotiation). */
  wss: WebSocketServer;
  /** Outbox limit in bytes (queued plus the socket's unsent bytes). */
  outboxLimit: number;
  /** Overflow policy per message class. */
  outboxPolicy: OutboxPolicy;
  /** Live connections by id, for broadcasts, metrics and inspection; each is removed when its socket closes. */
  registry?: Map<string, LiveConnection>;
  /** Where the protocol's topics live. */
  broker: Broker;
  /** json: bad frames tolerated in a row before closing with 1008. */
  badFrameTolerance: number;
}

/** A connection's live counters, readable while it is open (metrics, inspection). */
export interface LiveConnection {
  id: string;
  /** Data messages and bytes read from the client. */
  messagesIn: number;
  bytesIn: number;
  /** Inbound messages read after the connection decided to close. */
  readAfterClose: number;
  /** Its outbox: `outbox.stats` counts what was enqueued, written and dropped; `outbox.queued` is its backlog in bytes. */
  outbox: Outbox;
}

/** ws's receiver errors (lib/receiver.js), by their `code`, mapped to statewire's. */
const WS_ERRORS: Record<string, { code: ErrorCode; closeCode: number }> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: { code: 'message_too_big', closeCode: CloseCode.MessageTooBig },
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: { code: 'message_too_big', closeCode: CloseCode.MessageTooBig },
  WS_ERR_INVALID_UTF8: { code: 'invalid_utf8', closeCode: CloseCode.InvalidPayload },
};

function toFailure(error: Error & { code?: string }): SocketFailure {
  const known = error.code === undefined ? undefined : WS_ERRORS[error.code];
  return {
    code: known?.code ?? 'protocol_error',
    closeCode: known?.closeCode ?? CloseCode.ProtocolError,
    message: error.message,
  };
}

interface RawSocket {
  write(data: Buffer): boolean;
  on(event: 'drain', listener: () => void): void;
}

/**
 * Writes a batch of text frames as one buffer in one socket write, once the
 * upgrade has produced a WebSocket. It bypasses ws's Sender, which is safe
 * because ws only queues frames itself while compressing or reading a Blob,
 * and statewire negotiates no compression and sends strings only; control
 * frames (ping, pong, close) still go through ws, in order on the same socket.
 */
function wsSink(socket: RawSocket, current: () => WebSocket | null): OutboxSink {
  return {
    isOpen: () => current()?.readyState === WebSocket.OPEN,
    bufferedAmount: () => current()?.bufferedAmount ?? 0,
    write: (messages) => void socket.write(encodeTextFrames(messages)),
    onDrain: (listener) => socket.on('drain', listener),
  };
}

/**
 * The socket bridge: the only code that touches a connection's socket. It
 * holds the upgrade request until the connection machine says to complete
 * (`socket.upgrade`) or refuse it (`socket.refuse`). Then inbound data
 * messages go straight to the protocol actor, batched per socket read, and
 * what the protocol emits goes straight into the outbox or the broker. The
 * connection actor hears only lifecycle and control events.
 */
export function createSocketBridge(options: SocketBridgeOptions) {
  const { protocolName, logger, registry, codec, broker, badFrameTolerance, wss } = options;
  const debug = logger.isLevelEnabled('debug');

  return fromCallback<SocketCommand, SocketBridgeInput>(({ input, sendBack, receive }) => {
    const transport = input.transport as UpgradeTransport;
    const { socket } = transport;
    let ws: WebSocket | null = null;
    let protocol: AnyActorRef | null = null;
    const outbox = new Outbox(wsSink(socket as unknown as RawSocket, () => ws), {
      limit: options.outboxLimit,
      policy: options.outboxPolicy,
      onCongestion: (congested) => sendBack({ type: congested ? 'outbox.congested' : 'outbox.flowing' }),
      onOverflow: () => sendBack({ type: 'outbox.overflow' }),
    });
    const live: LiveConnection = { id: input.id, messagesIn: 0, bytesIn: 0, readAfterClose: 0, outbox };
    // Inbound messages are taken until statewire decides to close; later ones are counted undelivered.
    let accepting = true;
    let batch: string[] | null = null;
    let closedSent = false;
    let unwire = (): void => undefined;
    const report = (event: SocketEvent): void => sendBack(event);
    const deliverJson = codec === 'json' ? createJsonInbound(badFrameTolerance) : null;
    const toProtocol: JsonDelivery = {
      accepting: () => accepting,
      // `protocol` is read each time: a crash restarts it mid-batch.
      event: (event) => protocol!.send(event),
      error: (frame) => outbox.push(frame),
      violation: (failure, remaining) => {
        accepting = false;
        live.readAfterClose += remaining;
        report({ type: 'socket.failed', failure });
      },
    };

    const deliver = (): void => {
      // A lazy protocol not started yet: the batch waits for it (`socket.protocol` delivers it).
      if (batch === null || protocol === null) return;
      const messages = batch;
      batch = null;
      if (deliverJson === null) protocol.send({ type: 'socket.messages', messages });
      else deliverJson(messages, toProtocol);
    };
    const stopAccepting = (): void => {
      deliver();
      accepting = false;
    };

    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (!accepting) {
        live.readAfterClose++;
        return;
      }
      if (isBinary) {
        // RFC 6455 7.4.1: 1003 for a data type the endpoint cannot accept.
        stopAccepting();
        report({
          type: 'socket.failed',
          failure: { code: 'unsupported_data', closeCode: CloseCode.UnsupportedData, message: `${protocolName} accepts text frames only` },
        });
        return;
      }
      live.messagesIn++;
      live.bytesIn += data.length;
      const text = data.toString();
      if (debug) logger.debug({ connection: input.id, text }, 'message received');
      if (batch === null) {
        batch = [text];
        // The first message starts a lazy protocol (the connection answers with `socket.protocol` at once).
        if (protocol === null) report({ type: 'socket.data' });
        queueMicrotask(deliver);
      } else {
        batch.push(text);
      }
    };
    const onPong = (): void => report({ type: 'socket.pong' });
    const onError = (error: Error): void => {
      stopAccepting();
      report({ type: 'socket.failed', failure: toFailure(error) });
    };
    const closed = (code: number, reason: string, counters: ConnectionCounters): void => {
      if (closedSent) return;
      closedSent = true;
      report({ type: 'socket.closed', code, reason, counters });
    };
    const onClose = (code: number, reason: Buffer): void => {
      stopAccepting();
      outbox.close();
      registry?.delete(input.id);
      closed(code, reason.toString(), connectionCounters(live, outbox.stats));
    };
    // Before the upgrade completes, the raw socket's end is the connection's end.
    const onRawClose = (): void => closed(CloseCode.Abnormal, '', emptyCounters());
    socket.on('close', onRawClose);

    const upgrade = (): void => {
      const { request, head } = transport;
      transport.request = null;
      transport.head = null;
      if (request === null || head === null) return;
      wss.handleUpgrade(request, socket, head, (upgraded) => {
        socket.off('close', onRawClose);
        ws = upgraded;
        ws.on('message', onMessage);
        ws.on('pong', onPong);
        ws.on('error', onError);
        ws.on('close', onClose);
        registry?.set(input.id, live);
        report({ type: 'socket.open' });
      });
    };

    receive((command) => {
      switch (command.type) {
        case 'socket.protocol':
          unwire();
          protocol = command.protocol as AnyActorRef;
          unwire = wireProtocol(protocol, {
            connectionId: input.id,
            outbox,
            broker,
            requestClose: (code, reason) => sendBack({ type: 'protocol.close', code, reason }),
          });
          if (command.restarted) outbox.push(errorFrame('protocol_crash', `the ${protocolName} protocol failed and was restarted`));
          else if (batch !== null) queueMicrotask(deliver);
          break;
        case 'socket.upgrade':
          upgrade();
          break;
        case 'socket.refuse':
          refuseUpgrade(socket, command.status, command.message);
          break;
        case 'socket.ping':
          if (ws?.readyState === WebSocket.OPEN) ws.ping();
          break;
        case 'socket.close':
          // Everything read before the decision is answered before the close frame.
          stopAccepting();
          outbox.flush({ force: true });
          if (ws === null) socket.destroy();
          else ws.close(command.code, command.reason);
          break;
        case 'socket.terminate':
          stopAccepting();
          if (ws === null) socket.destroy();
          else ws.terminate();
          break;
      }
    });

    return () => {
      unwire();
      socket.off('close', onRawClose);
      if (ws !== null) {
        ws.off('message', onMessage);
        ws.off('pong', onPong);
        ws.off('close', onClose);
        // The error listener stays: an 'error' with no listener would crash the process.
      }
      if (!closedSent) {
        outbox.close();
        registry?.delete(input.id);
        if (ws === null) socket.destroy();
        else ws.terminate();
      }
    };
  });
}
