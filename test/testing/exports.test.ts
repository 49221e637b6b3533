import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as statewire from '../../src';
import * as testing from '../../src/testing';

const ROOT = resolve(__dirname, '..', '..');

/** Runs `code` in a fresh node inside the package, so `statewire/...` resolves through package.json `exports` (self-reference). */
function node(code: string): string {
  return execFileSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
}

describe('package exports', () => {
  it('exposes the server API and the testing kit as separate entry points', () => {
    expect(typeof statewire.createServer).toBe('function');
    expect('createTestConnection' in statewire).toBe(false);
    expect(Object.keys(testing).sort()).toEqual(['SteppingClock', 'createTestConnection', 'startTestServer']);
  });

  describe('built (dist/, which npm test builds first)', () => {
    const built = existsSync(resolve(ROOT, 'dist', 'src', 'testing', 'index.js'));
    const itBuilt = built ? it : it.skip;
    if (!built) it.todo('run `npm run build` to check the built entry points');

    itBuilt('resolves statewire and statewire/testing, with their type declarations', () => {
      const out = node(`
        const main = require('statewire');
        const testing = require('statewire/testing');
        console.log(JSON.stringify([typeof main.createServer, Object.keys(testing).sort()]));
      `);
      expect(JSON.parse(out)).toEqual(['function', ['SteppingClock', 'createTestConnection', 'startTestServer']]);
      expect(existsSync(resolve(ROOT, 'dist', 'src', 'index.d.ts'))).toBe(true);
      expect(existsSync(resolve(ROOT, 'dist', 'src', 'testing', 'index.d.ts'))).toBe(true);
    });

    itBuilt('keeps internal modules private', () => {
      expect(() => node(`require('statewire/dist/src/server.js')`)).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    });

    itBuilt('runs a protocol test from the built kit', () => {
      const out = node(`
        const { createTestConnection } = require('statewire/testing');
        const { echoMachine } = require('statewire');
        const conn = createTestConnection(echoMachine);
        conn.send('hi');
        conn.expectSent('Echo: hi');
        console.log(JSON.stringify(conn.state()));
      `);
      expect(JSON.parse(out)).toEqual({ open: { heartbeat: 'idle', flow: 'flowing', protocol: 'running' } });
    });
  });
});
