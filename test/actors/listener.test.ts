import { createActor, setup } from 'xstate';
import pino from 'pino';
import { createListener, type UpgradeTransport } from '../../src/actors/listener.actor';
import type { ListenAddress, ListenerEvent } from '../../src/protocol/events';
import { upgradeStatus } from '../integration/helpers';

/** Starts a listener on 127.0.0.1:0 whose admitted upgrades go to `accept`; resolves with its address and a stop. */
async function listen(accept: (transport: UpgradeTransport, protocol: string) => string | null) {
  const refused: number[] = [];
  let ready: (address: ListenAddress) => void = () => undefined;
  const address = new Promise<ListenAddress>((resolve) => (ready = resolve));
  const listener = createListener({
    host: '127.0.0.1',
    port: 0,
    path: '/ws',
    logger: pino({ level: 'silent' }),
    admit: (_request, path) => (path === '/ws' ? { protocol: 'echo' } : { status: 404, message: 'Not Found' }),
    accept,
    onRefused: (status) => refused.push(status),
  });
  const parent = createActor(
    setup({ types: { events: {} as ListenerEvent }, actors: { listener } }).createMachine({
      invoke: { src: 'listener' },
      on: { 'listener.ready': { actions: ({ event }) => ready(event.address) } },
    }),
  ).start();
  return { address: await address, refused, stop: () => parent.stop() };
}

describe('listener', () => {
  it('hands an admitted upgrade to accept, with its protocol, the request, socket and head held for the bridge', async () => {
    const accepted: { protocol: string; transport: UpgradeTransport }[] = [];
    const { address, stop } = await listen((transport, protocol) => {
      accepted.push({ transport, protocol });
      transport.socket.destroy();
      return 'conn-1';
    });
    try {
      await upgradeStatus(address.url).catch(() => 0);
      expect(accepted).toHaveLength(1);
      expect(accepted[0].protocol).toBe('echo');
      expect(accepted[0].transport.request?.url).toBe('/ws');
      expect(accepted[0].transport.head).toBeInstanceOf(Buffer);
    } finally {
      stop();
    }
  });

  it('refuses the upgrade with 503 when nothing takes it (the pool is not running)', async () => {
    const { address, refused, stop } = await listen(() => null);
    try {
      expect(await upgradeStatus(address.url)).toBe(503);
      expect(refused).toEqual([503]);
    } finally {
      stop();
    }
  });
});
