import { fromCallback } from 'xstate';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { SocketBridgeInput } from '../../machines/connection.machine';
import { CloseCode, isSendableCloseCode } from '../protocol/close-codes';
import type { ErrorCode } from '../protocol/errors';
import type { ProtocolEmitted, SocketCommand, SocketEvent, SocketFailure } from '../protocol/events';
import { Outbox, type OutboxPolicy, type OutboxSink } from './outbox';

/** How inbound frames are decoded before the protocol sees them. */
export type Codec = 'text';

export interface SocketBridgeOptions {
  /** The protocol's name, used in close reasons. */
  protocolName: string;
  codec: Codec;
  logger: Logger;
  /** Outbox limit in bytes (queued plus the socket's unsent bytes). */
  outboxLimit: number;
  /** Overflow policy per message class. */
  outboxPolicy: OutboxPolicy;
  /** Live connections by id, for broadcasts, metrics and inspection; each is removed when its socket closes. */
  registry?: Map<string, LiveConnection>;
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

const VOLATILE = { volatile: true } as const;

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
  cork(): void;
  uncork(): void;
  on(event: 'drain', listener: () => void): void;
}

/** Writes a batch of text frames with one corked write. */
function wsSink(ws: WebSocket): OutboxSink {
  const socket = (ws as unknown as { _socket: RawSocket })._socket;
  return {
    isOpen: () => ws.readyState === WebSocket.OPEN,
    bufferedAmount: () => ws.bufferedAmount,
    write(messages) {
      socket.cork();
      for (const message of messages) ws.send(message);
      socket.uncork();
    },
    onDrain: (listener) => socket.on('drain', listener),
  };
}

/**
 * The socket bridge: the only code that touches a ws socket. Inbound data
 * messages go straight to the protocol actor, batched per socket read (one
 * event carries everything one read brought); what the protocol sends goes
 * straight into the outbox. The connection actor hears only lifecycle and
 * control events.
 */
export function createSocketBridge(options: SocketBridgeOptions) {
  const { protocolName, logger, registry } = options;
  const debug = logger.isLevelEnabled('debug');

  return fromCallback<SocketCommand, SocketBridgeInput>(({ input, sendBack, receive }) => {
    const ws = input.transport as WebSocket;
    const { protocol } = input;
    const outbox = new Outbox(wsSink(ws), {
      limit: options.outboxLimit,
      policy: options.outboxPolicy,
      onCongestion: (congested) => sendBack({ type: congested ? 'outbox.congested' : 'outbox.flowing' }),
      onOverflow: () => sendBack({ type: 'outbox.overflow' }),
    });
    const live: LiveConnection = { id: input.id, messagesIn: 0, bytesIn: 0, readAfterClose: 0, outbox };
    registry?.set(input.id, live);
    // Inbound messages are taken until statewire decides to close; later ones are counted undelivered.
    let accepting = true;
    let batch: string[] | null = null;
    let closedSent = false;

    const deliver = (): void => {
      const messages = batch;
      batch = null;
      if (messages !== null) protocol.send({ type: 'socket.messages', messages });
    };
    const stopAccepting = (): void => {
      deliver();
      accepting = false;
    };
    const report = (event: SocketEvent): void => sendBack(event);

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
    const onClose = (code: number, reason: Buffer): void => {
      stopAccepting();
      outbox.close();
      registry?.delete(input.id);
      closedSent = true;
      const stats = outbox.stats;
      report({
        type: 'socket.closed',
        code,
        reason: reason.toString(),
        counters: {
          messagesIn: live.messagesIn,
          bytesIn: live.bytesIn,
          enqueued: stats.enqueued,
          messagesOut: stats.written,
          bytesOut: stats.writtenBytes,
          dropped: { ...stats.dropped },
          undelivered: { readAfterClose: live.readAfterClose, socketClosed: stats.undelivered },
        },
      });
    };

    const onSend = protocol.on('send', (event: Extract<ProtocolEmitted, { type: 'send' }>) => {
      const volatile = event.volatile === true ? VOLATILE : undefined;
      for (const message of event.messages) outbox.push(message, volatile);
    });
    const onProtocolClose = protocol.on('close', (event: Extract<ProtocolEmitted, { type: 'close' }>) => {
      const valid = isSendableCloseCode(event.code);
      sendBack({
        type: 'protocol.close',
        code: valid ? event.code : CloseCode.InternalError,
        reason: valid ? event.reason : `protocol asked for an invalid close code ${event.code}`,
      });
    });

    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);

    receive((command) => {
      switch (command.type) {
        case 'socket.ping':
          if (ws.readyState === WebSocket.OPEN) ws.ping();
          break;
        case 'socket.close':
          // Everything read before the decision is answered before the close frame.
          stopAccepting();
          outbox.flush({ force: true });
          ws.close(command.code, command.reason);
          break;
        case 'socket.terminate':
          stopAccepting();
          ws.terminate();
          break;
      }
    });

    report({ type: 'socket.open' });

    return () => {
      onSend.unsubscribe();
      onProtocolClose.unsubscribe();
      ws.off('message', onMessage);
      ws.off('pong', onPong);
      ws.off('close', onClose);
      // The error listener stays: an 'error' with no listener would crash the process.
      if (!closedSent) {
        outbox.close();
        registry?.delete(input.id);
        ws.terminate();
      }
    };
  });
}
