import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  cleanUp,
  connect,
  connectUnresponsive,
  httpStatus,
  nextMessage,
  refusedUpgradeStatus,
  runCli,
  spawnProcess,
  startCli,
  waitForExit,
  waitForOutput,
  withTimeout,
} from './helpers';

/** Debian's interpreter, which has python3-websockets; `python3` on PATH may be another one. */
const PYTHON = '/usr/bin/python3';
const PEER = resolve(__dirname, 'peer.py');
const LISTENING = /^statewire listening on (ws:\/\/\S+)$/m;
/** Copies of a signal this close together count as one (src/actors/signals.actor.ts). */
const SIGNAL_ECHO_WINDOW_MS = 100;

afterEach(cleanUp);

describe('statewire serve', () => {
  it('echoes to a python websockets peer, then closes it with 1001 and exits 0 on SIGINT', async () => {
    const cli = await startCli([]);
    const peer = spawnProcess(PYTHON, [PEER, cli.url, 'hello']);

    await waitForOutput(peer, 'Echo: hello\n', 10_000);
    cli.child.kill('SIGINT');

    await waitForOutput(cli, 'shutting down\n', 5_000);
    await waitForOutput(peer, 'closed 1001\n', 5_000);
    expect(await waitForExit(peer, 5_000)).toEqual({ code: 0, signal: null });
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^statewire stopped: 1 connection closed \(1x1001\), 0 terminated/m);
  });

  it('refuses upgrades with 503 while draining and terminates what is left at the drain deadline', async () => {
    const cli = await startCli(['--drain-timeout', '3000', '--close-timeout', '5000']);
    const held = await connectUnresponsive(cli.url);
    expect(await httpStatus(cli.port, '/healthz')).toBe(200);

    const signalledAt = Date.now();
    cli.child.kill('SIGINT');
    await waitForOutput(cli, 'shutting down\n', 5_000);

    expect(await refusedUpgradeStatus(cli.url)).toBe(503);
    expect(await httpStatus(cli.port, '/healthz')).toBe(503);
    expect(await waitForExit(cli, 10_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(2_900);
    expect(cli.stdout()).toMatch(/^statewire stopped: .*\b1 terminated\b/m);
    held.ws.terminate();
  });

  it('forces exit with status 1 on a second SIGINT during the drain', async () => {
    const cli = await startCli(['--drain-timeout', '20000', '--close-timeout', '20000']);
    await connectUnresponsive(cli.url);

    cli.child.kill('SIGINT');
    await waitForOutput(cli, 'shutting down\n', 5_000);
    // No event marks the end of the echo window; only time passing does.
    await delay(SIGNAL_ECHO_WINDOW_MS * 3);
    const secondAt = Date.now();
    cli.child.kill('SIGINT');

    expect(await waitForExit(cli, 5_000)).toEqual({ code: 1, signal: null });
    expect(Date.now() - secondAt).toBeLessThan(3_000);
    expect(cli.stdout()).toContain('forced exit');
    expect(cli.stdout()).not.toContain('statewire stopped:');
  });

  it('counts copies of SIGINT within the echo window as one signal', async () => {
    const cli = await startCli(['--drain-timeout', '1000', '--close-timeout', '20000']);
    await connectUnresponsive(cli.url);

    cli.child.kill('SIGINT');
    // A copy well inside the window, as npm's forwarded copy of a Ctrl+C arrives.
    await delay(SIGNAL_ECHO_WINDOW_MS / 3);
    cli.child.kill('SIGINT');

    expect(await waitForExit(cli, 10_000)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^shutting down$/m);
    expect(cli.stdout()).not.toContain('forced exit');
    expect(cli.stdout()).toMatch(/^statewire stopped: .*\b1 terminated\b/m);
  });

  it('drains on SIGTERM like on SIGINT', async () => {
    const cli = await startCli([]);
    const client = await connect(cli.url);
    client.ws.send('hi');
    expect(await nextMessage(client.ws)).toBe('Echo: hi');

    cli.child.kill('SIGTERM');

    await waitForOutput(cli, 'shutting down\n', 5_000);
    expect(await withTimeout(client.closed, 5_000, 'the close')).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^statewire stopped: 1 connection closed \(1x1001\), 0 terminated/m);
  });

  it('answers GET /healthz with 200 and other paths with 404 while listening', async () => {
    const cli = await startCli([]);

    expect(await httpStatus(cli.port, '/healthz')).toBe(200);
    expect(await httpStatus(cli.port, '/nope')).toBe(404);
    expect(await refusedUpgradeStatus(cli.url.replace(/\/ws$/, '/elsewhere'))).toBe(404);

    cli.child.kill('SIGINT');
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^statewire stopped: 0 connections closed, 0 terminated/m);
  });

  it('serves on the --host and --path given', async () => {
    const cli = await startCli(['--host', '127.0.0.1', '--path', '/live']);
    expect(cli.url).toBe(`ws://127.0.0.1:${cli.port}/live`);
    const client = await connect(cli.url);
    client.ws.send('on /live');
    expect(await nextMessage(client.ws)).toBe('Echo: on /live');
    expect(await refusedUpgradeStatus(`ws://127.0.0.1:${cli.port}/ws`)).toBe(404);

    cli.child.kill('SIGINT');
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
  });

  it('closes a connection with 1009 when a message exceeds --max-payload', async () => {
    const cli = await startCli(['--max-payload', '16']);
    const client = await connect(cli.url);
    client.ws.send('x'.repeat(16));
    expect(await nextMessage(client.ws)).toBe(`Echo: ${'x'.repeat(16)}`);

    client.ws.send('x'.repeat(17));

    expect((await withTimeout(client.closed, 5_000, 'the close')).code).toBe(1009);
    cli.child.kill('SIGINT');
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
  });

  it('terminates a peer that does not answer pings within --pong-timeout', async () => {
    const cli = await startCli(['--heartbeat-interval', '200', '--pong-timeout', '200']);
    const silent = await connect(cli.url, 5_000, { autoPong: false });
    const pinged = new Promise<void>((resolvePing) => silent.ws.once('ping', () => resolvePing()));

    await withTimeout(pinged, 5_000, 'a ping');
    expect((await withTimeout(silent.closed, 5_000, 'the termination')).code).toBe(1006);
    cli.child.kill('SIGINT');
    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
  });

  it('prints shutting down on SIGINT when no connection is open', async () => {
    const cli = await startCli([]);

    cli.child.kill('SIGINT');

    expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^shutting down$/m);
  });

  // A fast drain removes the signal handler within the echo window; a copy
  // arriving after that must not get Node's default action (death by SIGINT).
  // The window is a race, so the test makes it five times over.
  it('exits 0 when copies of SIGINT arrive within the echo window after a fast drain', async () => {
    for (let run = 0; run < 5; run++) {
      const cli = await startCli([]);
      const firstAt = Date.now();
      cli.child.kill('SIGINT');
      while (cli.child.exitCode === null && cli.child.signalCode === null && Date.now() - firstAt < SIGNAL_ECHO_WINDOW_MS / 2) {
        cli.child.kill('SIGINT');
        await delay(1);
      }

      expect(await waitForExit(cli, 5_000)).toEqual({ code: 0, signal: null });
      expect(cli.stdout()).toMatch(/^statewire stopped: /m);
    }
  });

  it.each([
    ['a port that is not a number', ['serve', '--port', 'abc']],
    ['a port above 65535', ['serve', '--port', '70000']],
    ['an unknown protocol', ['serve', '--protocol', 'nope']],
    ['an unknown flag', ['serve', '--bogus']],
    ['a missing command', []],
    ['an unknown command', ['listen']],
  ])('exits 2 with one line on stderr for %s', async (_case, args) => {
    const result = await runCli(args);

    expect(result).toMatchObject({ code: 2, signal: null, stdout: '' });
    expect(result.stderr).toMatch(/^statewire: [^\n]+\n$/);
  });

  it('prints usage and exits 0 on --help', async () => {
    const result = await runCli(['--help']);

    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(result.stdout).toMatch(/^Usage: statewire serve/);
  });
});

describe('npm start', () => {
  // Ctrl+C in a terminal sends SIGINT to the whole foreground process group:
  // npm, the script shell and the server. With bash as the script shell the
  // server is npm's own child (bash execs a lone command), so npm forwards a
  // second SIGINT to it within milliseconds, and npm exits with the server's
  // status. Debian's /bin/sh (dash) does not exec: it dies of the SIGINT
  // itself, and npm then re-raises SIGINT on itself whatever the server did;
  // the server's own lines tell how it ended.
  it.each([
    // The project's .npmrc makes bash the script shell, so `npm start` itself exits 0.
    ['the project\'s script shell (bash)', [], [{ code: 0, signal: null }]],
    ['dash as the script shell', ['--script-shell=/bin/sh'], [{ code: 0, signal: null }, { code: null, signal: 'SIGINT' }]],
  ])('serves, and drains once on Ctrl+C with %s', async (_shell, npmFlags, npmExits) => {
    // `prestart` compiles first, so the listening line can take a while.
    const npm = spawnProcess('npm', ['start', ...npmFlags, '--', '--port', '0'], { detached: true });
    const stdout = await waitForOutput(npm, LISTENING, 60_000);
    const client = await connect(LISTENING.exec(stdout)![1]);
    client.ws.send('hello');
    expect(await nextMessage(client.ws)).toBe('Echo: hello');

    process.kill(-npm.child.pid!, 'SIGINT');

    // `exited` settles once every holder of the output pipes, the server included, has gone.
    expect(npmExits).toContainEqual(await waitForExit(npm, 10_000));
    expect(await withTimeout(client.closed, 1_000, 'the close')).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(npm.stdout()).toMatch(/^shutting down$/m);
    expect(npm.stdout()).not.toContain('forced exit');
    // Printed only on the way to exit status 0.
    expect(npm.stdout()).toMatch(/^statewire stopped: 1 connection closed \(1x1001\), 0 terminated/m);
  }, 90_000);
});
