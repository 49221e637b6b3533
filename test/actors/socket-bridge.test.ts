import { BridgedWebSocket } from '../../src/actors/socket.bridge';

/** A server-side WebSocket without a socket, as ws makes one before `setSocket`. */
function bridged() {
  const ws = new BridgedWebSocket(null as never, undefined, {});
  const heard: unknown[][] = [];
  const bridge = {
    onMessage: (data: Buffer, isBinary: boolean) => void heard.push(['message', data.toString(), isBinary]),
    onPong: () => void heard.push(['pong']),
    onError: (error: Error) => void heard.push(['error', error.message]),
    onClose: (code: number, reason: Buffer) => void heard.push(['close', code, reason.toString()]),
  };
  return { ws, heard, bridge };
}

describe('BridgedWebSocket', () => {
  it("hands ws's events to its bridge, without listeners", () => {
    const { ws, heard, bridge } = bridged();
    ws.bridge = bridge;
    ws.emit('message', Buffer.from('hi'), false);
    ws.emit('pong', Buffer.alloc(0));
    ws.emit('error', new Error('bad frame'));
    ws.emit('close', 1000, Buffer.from('bye'));
    expect(heard).toEqual([['message', 'hi', false], ['pong'], ['error', 'bad frame'], ['close', 1000, 'bye']]);
  });

  it('gives other events to their listeners, and data to listeners while no bridge is set', () => {
    const { ws, heard } = bridged();
    const pings: string[] = [];
    ws.on('ping', (data: Buffer) => pings.push(data.toString()));
    ws.on('message', (data: Buffer) => heard.push(['listener', data.toString()]));
    ws.emit('ping', Buffer.from('p'));
    ws.emit('message', Buffer.from('early'), false);
    expect(pings).toEqual(['p']);
    expect(heard).toEqual([['listener', 'early']]);
  });

  it('drops an error when no bridge is set (after the bridge has let go), instead of throwing it as an unheard error event', () => {
    const { ws, heard, bridge } = bridged();
    ws.bridge = bridge;
    ws.bridge = null;
    expect(() => ws.emit('error', new Error('late'))).not.toThrow();
    expect(heard).toEqual([]);
  });
});
