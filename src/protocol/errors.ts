import { CloseCode } from './close-codes';

/**
 * Every failure statewire reports, by stable string code. Each has exactly one
 * way out: a close code (after the upgrade), an HTTP status (before it), or a
 * synchronous throw (a programmer error, such as a bad option).
 */
export const ErrorCodes = {
  bad_option: { exit: 'throw' },
  message_too_big: { closeCode: CloseCode.MessageTooBig },
  invalid_utf8: { closeCode: CloseCode.InvalidPayload },
  unsupported_data: { closeCode: CloseCode.UnsupportedData },
  protocol_error: { closeCode: CloseCode.ProtocolError },
  heartbeat_timeout: { closeCode: CloseCode.HeartbeatTimeout },
  close_timeout: { closeCode: CloseCode.CloseTimeout },
  drain_timeout: { closeCode: CloseCode.DrainTimeout },
  slow_consumer: { closeCode: CloseCode.SlowConsumer },
  server_draining: { httpStatus: 503 },
  not_found: { httpStatus: 404 },
  listen_failed: { exit: 'throw' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The one error class of statewire: a stable `code` plus a human message. */
export class StatewireError extends Error {
  override readonly name = 'StatewireError';
  readonly code: ErrorCode;
  /** The close code this failure closes a connection with, if any. */
  readonly closeCode: number | undefined;
  /** The HTTP status this failure answers an upgrade with, if any. */
  readonly httpStatus: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    const entry: { closeCode?: number; httpStatus?: number; exit?: 'throw' } = ErrorCodes[code];
    this.closeCode = entry.closeCode;
    this.httpStatus = entry.httpStatus;
  }
}
