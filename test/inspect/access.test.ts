import type { IncomingMessage } from 'node:http';
import { createInspectorAccess } from '../../src/inspect/access';

function requestFrom(remoteAddress: string, headers: Record<string, string>, url = '/inspect'): IncomingMessage {
  return { socket: { remoteAddress }, headers, url } as unknown as IncomingMessage;
}

describe('createInspectorAccess', () => {
  describe('without a token', () => {
    const allowed = createInspectorAccess();

    it('lets loopback clients in under a loopback host name', () => {
      expect(allowed(requestFrom('127.0.0.1', { host: '127.0.0.1:3030' }))).toBe(true);
      expect(allowed(requestFrom('::1', { host: '[::1]:3030' }))).toBe(true);
      expect(allowed(requestFrom('::ffff:127.0.0.1', { host: 'localhost:3030' }))).toBe(true);
    });

    it('refuses any other client', () => {
      expect(allowed(requestFrom('10.0.0.7', { host: '127.0.0.1:3030' }))).toBe(false);
      expect(allowed(requestFrom('192.168.1.20', { host: '192.168.1.2:3030' }))).toBe(false);
      expect(allowed(requestFrom('::ffff:10.0.0.7', { host: 'localhost' }))).toBe(false);
    });

    it('refuses another host name or another origin, even from loopback', () => {
      expect(allowed(requestFrom('127.0.0.1', { host: 'attacker.example:3030' }))).toBe(false);
      expect(allowed(requestFrom('127.0.0.1', { host: '127.0.0.1:3030', origin: 'http://attacker.example' }))).toBe(false);
      expect(allowed(requestFrom('127.0.0.1', { host: '127.0.0.1:3030', origin: 'http://127.0.0.1:3030' }))).toBe(true);
    });
  });

  describe('with a token', () => {
    const allowed = createInspectorAccess('t0ken');

    it('lets anyone with the token in', () => {
      expect(allowed(requestFrom('10.0.0.7', { host: 'box:3030' }, '/inspect?token=t0ken'))).toBe(true);
      expect(allowed(requestFrom('10.0.0.7', { host: 'box:3030', authorization: 'Bearer t0ken' }))).toBe(true);
    });

    it('refuses a missing or wrong token, loopback included', () => {
      expect(allowed(requestFrom('127.0.0.1', { host: '127.0.0.1:3030' }))).toBe(false);
      expect(allowed(requestFrom('127.0.0.1', { host: '127.0.0.1:3030' }, '/inspect?token=t0ke'))).toBe(false);
      expect(allowed(requestFrom('10.0.0.7', { host: 'box:3030', authorization: 'Bearer nope' }))).toBe(false);
    });
  });
});
