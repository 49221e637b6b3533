import type { InspectionEvent } from 'xstate';
import { cleanup, closed, connect, received, startServer } from '../integration/helpers';
import { ended } from './helpers';

afterEach(cleanup);

/** The systemId of the actor an inspection event is about (connections have theirs: `conn-N`). */
function systemIdOf(event: InspectionEvent): string | undefined {
  return (event.actorRef as { systemId?: string }).systemId;
}

describe('createServer({ inspect })', () => {
  it('sees a connection actor, its events and its state changes', async () => {
    const events: InspectionEvent[] = [];
    const { server, url } = await startServer({ inspect: (event) => events.push(event as InspectionEvent) });
    const client = await connect(url);
    client.send('hi');
    await received(client, 1);
    client.close(1000);
    await closed(client);
    await ended(server, 'conn-1');

    const ofConnection = events.filter((e) => systemIdOf(e) === 'conn-1');
    expect(ofConnection.some((e) => e.type === '@xstate.actor')).toBe(true);
    expect(ofConnection.some((e) => e.type === '@xstate.event' && e.event.type === 'socket.open')).toBe(true);
    const snapshots = ofConnection.filter((e): e is Extract<InspectionEvent, { type: '@xstate.snapshot' }> => e.type === '@xstate.snapshot');
    const values = snapshots.map((e) => (e.snapshot as unknown as { value: unknown }).value);
    expect(values.some((v) => typeof v === 'object' && v !== null && 'open' in v)).toBe(true);
    const last = snapshots[snapshots.length - 1].snapshot as unknown as { status: string; value: unknown; output: { code: number } };
    expect(last).toMatchObject({ status: 'done', value: 'closed', output: { code: 1000 } });
  });

  it('sees the protocol actor receive the messages, and the connection start in the supervisor\'s system', async () => {
    const events: InspectionEvent[] = [];
    const { url } = await startServer({ inspect: (event) => events.push(event as InspectionEvent) });
    const client = await connect(url);
    client.send('hello');
    await received(client, 1);

    const inbound = events.find(
      (e) => e.type === '@xstate.event' && ((e.event as { messages?: unknown }).messages as unknown[] | undefined)?.includes('hello'),
    );
    expect(inbound).toBeDefined();
    expect(systemIdOf(inbound!)).toBeUndefined(); // a protocol actor: neither a connection nor the supervisor
    expect(inbound!.actorRef.sessionId).not.toBe(inbound!.rootId);
    const supervisor = events.find((e) => e.type === '@xstate.actor' && e.actorRef.sessionId === e.rootId);
    const connection = events.find((e) => e.type === '@xstate.actor' && systemIdOf(e) === 'conn-1');
    expect(supervisor).toBeDefined();
    expect(connection?.rootId).toBe(supervisor!.rootId);
  });

  it('system.inspect on a running server sees every message reach the protocol, while it watches', async () => {
    // Echo's transition is stationary: unwatched, it runs without the interpreter (src/actors/stationary.ts).
    const { server, url } = await startServer();
    const client = await connect(url);
    const replies: string[] = [];
    client.send('before');
    replies.push(...(await received(client, 1)));
    const inbound: string[] = [];
    const subscription = server.actor.system.inspect((event) => {
      if (event.type === '@xstate.event' && event.event.type === 'socket.messages') inbound.push(...(event.event as unknown as { messages: string[] }).messages);
    });
    client.send('watched');
    replies.push(...(await received(client, 1)));
    subscription.unsubscribe();
    client.send('after');
    replies.push(...(await received(client, 1)));
    expect(inbound).toEqual(['watched']);
    expect(replies).toEqual(['Echo: before', 'Echo: watched', 'Echo: after']);
  });

  it('takes an observer object, as @statelyai/inspect hands out', async () => {
    const events: InspectionEvent[] = [];
    const { url } = await startServer({ inspect: { next: (event) => events.push(event as InspectionEvent) } });
    await connect(url);

    expect(events.some((e) => e.type === '@xstate.actor' && systemIdOf(e) === 'conn-1')).toBe(true);
  });

  it('keeps serving when the observer throws', async () => {
    let calls = 0;
    const { server, url } = await startServer({
      inspect: () => {
        calls++;
        throw new Error('observer bug');
      },
    });
    const client = await connect(url);
    client.send('still here');

    expect(await received(client, 1)).toEqual(['Echo: still here']);
    expect(calls).toBeGreaterThan(0);
    const report = await server.close();
    expect(report.drained.map((r) => r.code)).toEqual([1001]);
  });
});
