import * as net from 'node:net';
import fc from 'fast-check';
import { cleanup, connect, rawUpgrade, received, startServer } from './helpers';

afterEach(cleanup);

/** Resolves when the server closes the socket, with the close code of its close frame if it sent one. */
function serverClose(socket: net.Socket): Promise<number | null> {
  let code: number | null = null;
  socket.on('data', (data) => {
    // A server close frame: 0x88, length, then a 2-byte code.
    const at = data.indexOf(0x88);
    if (at !== -1 && data.length >= at + 4) code = data.readUInt16BE(at + 2);
  });
  return new Promise((resolve) => socket.once('close', () => resolve(code)));
}

describe('hostile input', () => {
  it('closes with 1002 on an unmasked client frame', async () => {
    const { port } = await startServer();
    const socket = await rawUpgrade(port);
    const done = serverClose(socket);
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    expect(await done).toBe(1002);
  });

  it('closes with 1002 on reserved bits and unknown opcodes', async () => {
    const { port } = await startServer();
    for (const first of [0xc1, 0x83]) {
      const socket = await rawUpgrade(port);
      const done = serverClose(socket);
      socket.write(Buffer.from([first, 0x80, 0, 0, 0, 0]));
      expect(await done).toBe(1002);
    }
  });

  it('answers a malformed HTTP request without crashing', async () => {
    const { port, url } = await startServer();
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    const client = await connect(url);
    const reply = received(client, 1);
    client.send('alive');
    expect(await reply).toEqual(['Echo: alive']);
  });

  it('survives random bytes after the upgrade, and keeps serving a healthy client', async () => {
    const { port, url } = await startServer();
    const healthy = await connect(url);
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    process.stdout.write(`hostile-input seed: ${seed} (replay with FC_SEED=${seed})\n`);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        const socket = await rawUpgrade(port);
        const done = serverClose(socket);
        socket.write(bytes);
        // Whatever the bytes were, the server either closes or waits for more; end our side to finish.
        setTimeout(() => socket.end(), 5);
        await done;
      }),
      { numRuns: 60, seed },
    );
    const reply = received(healthy, 1);
    healthy.send('still here');
    expect(await reply).toEqual(['Echo: still here']);
  });

  it('hands a json protocol the message types it does not name as one event type, so distinct types cannot grow XState caches', async () => {
    const seen: string[] = [];
    const inspect = (event: { type: string; actorRef: { id?: string }; event?: { type: string } }) => {
      if (event.type === '@xstate.event' && event.actorRef.id === 'protocol' && event.event!.type.startsWith('client.')) seen.push(event.event!.type);
    };
    const { url } = await startServer({ protocol: 'topics', inspect: inspect as never });
    const client = await connect(url);
    const replies = received(client, 4);
    for (const type of ['x1', 'x2', 'subscribe', 'x3']) client.send(JSON.stringify({ type, topic: 'room', ref: type }));
    const parsed = (await replies).map((frame) => JSON.parse(frame) as { ref: string; code?: string; message?: string });
    // The protocol still sees each message whole: it names the client's type in its answer.
    expect(parsed.map((r) => [r.ref, r.code ?? 'ok'])).toEqual([
      ['x1', 'unknown_type'],
      ['x2', 'unknown_type'],
      ['subscribe', 'ok'],
      ['x3', 'unknown_type'],
    ]);
    expect(parsed[1].message).toBe('unknown message type "x2"');
    expect(seen).toEqual(['client.*', 'client.*', 'client.subscribe', 'client.*']);
  });
});
