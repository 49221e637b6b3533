import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Decides whether a request may open the inspector. */
export type InspectorAccess = (request: IncomingMessage) => boolean;

const LOOPBACK_ADDRESS = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function tokenOf(request: IncomingMessage): string | null {
  const auth = request.headers.authorization;
  if (auth !== undefined && auth.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get('token');
}

/**
 * Who may open the inspector. Without a token: loopback clients only, and
 * only under a loopback host name (a DNS-rebinding page would send its own
 * host). With a token: anyone presenting it as `?token=` or
 * `Authorization: Bearer`. Either way a browser's `Origin`, when sent, must be
 * the inspector's own, so another site cannot open the stream from a
 * visitor's browser (cross-site WebSocket hijacking).
 *
 * @example
 * const allowed = createInspectorAccess(process.env.TOKEN);
 * if (!allowed(request)) refuse(403);
 */
export function createInspectorAccess(token?: string): InspectorAccess {
  const expected = token === undefined ? null : digest(token);
  return (request) => {
    const host = request.headers.host ?? '';
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) return false;
    if (expected === null) {
      return LOOPBACK_ADDRESS.test(request.socket.remoteAddress ?? '') && LOOPBACK_HOST.test(host);
    }
    const given = tokenOf(request);
    return given !== null && timingSafeEqual(digest(given), expected);
  };
}
