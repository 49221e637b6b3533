/**
 * WebSocket close codes statewire uses, with why each is sent.
 * RFC 6455 section 7.4.1 defines 1000-1015; 4000-4999 are private-use codes
 * (section 7.4.2) and statewire's own.
 */
export const CloseCode = {
  /** Normal close asked by the protocol or the client. */
  Normal: 1000,
  /** The server is shutting down; clients should reconnect. */
  GoingAway: 1001,
  /** Protocol error (ws detects most of these itself). */
  ProtocolError: 1002,
  /** A frame type the protocol does not accept, e.g. binary on a text protocol. */
  UnsupportedData: 1003,
  /** No close frame was received (never sent on the wire; RFC 6455 7.4.1). */
  Abnormal: 1006,
  /** Invalid UTF-8 or an undecodable payload. */
  InvalidPayload: 1007,
  /** Policy violation: origin, auth after upgrade, rate limit, schema past tolerance. */
  PolicyViolation: 1008,
  /** The message is bigger than maxPayload. */
  MessageTooBig: 1009,
  /** The protocol actor failed beyond its restart budget. */
  InternalError: 1011,
  /** statewire: the peer did not answer a ping within pongTimeout; it was terminated. */
  HeartbeatTimeout: 4000,
  /** statewire: the peer did not answer the close frame within closeTimeout; it was terminated. */
  CloseTimeout: 4001,
  /** statewire: the drain deadline passed during shutdown; the connection was terminated. */
  DrainTimeout: 4002,
  /** statewire: the client read too slowly; its outbox passed its limit under the `close` policy. */
  SlowConsumer: 4003,
  /** statewire: the upgrade was refused with HTTP 401 by `authenticate`; no WebSocket existed. */
  Unauthorized: 4401,
  /** statewire: the upgrade was refused with HTTP 403 by `authenticate`; no WebSocket existed. */
  Forbidden: 4403,
  /** statewire: the upgrade was refused with HTTP 503: the server began to drain while it was authenticating. */
  UpgradeUnavailable: 4503,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** Codes an endpoint may put in a close frame (RFC 6455 7.4.1 and 7.4.2). */
export function isSendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}
