import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Subject as RootSubject, Observable as RootObservable } from 'rxjs';
import { Observable, Subject } from '../../src/rx';
import { REPO_ROOT } from './helpers';

describe('what a server loads', () => {
  it("uses rxjs's own Subject and Observable classes", () => {
    expect(Subject).toBe(RootSubject);
    expect(Observable).toBe(RootObservable);
  });

  it("starts an echo server without rxjs's root index (its 223 modules), from the built package", () => {
    // A fresh process, as users run it: jest's module registry is not Node's.
    const script = `
      const { createServer } = require(${JSON.stringify(resolve(REPO_ROOT, 'dist', 'src', 'index.js'))});
      const server = createServer({ port: 0, logLevel: 'silent' });
      server.listen().then(async () => {
        const rxjs = Object.keys(require.cache).filter((file) => file.includes('/node_modules/rxjs/'));
        await server.close();
        process.stdout.write(JSON.stringify(rxjs.map((file) => file.slice(file.indexOf('/node_modules/rxjs/') + 19))));
      });`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })) as string[];
    expect(loaded).toContain('dist/cjs/internal/Subject.js');
    expect(loaded).not.toContain('dist/cjs/index.js');
    expect(loaded.length).toBeLessThan(30);
  });
});
