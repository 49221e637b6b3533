import { fromCallback, setup, emit } from 'xstate';
import type { AnyActorRef } from 'xstate';
import type { SocketBridgeInput } from '../../machines/connection.machine';
import { emptyCounters, type ConnectionCounters, type ProtocolEmitted, type ProtocolInput, type SocketCommand } from '../../src/protocol/events';

/** A socket bridge that records the commands it is sent and lets a test speak for the socket. */
export function fakeSocket({ open = true }: { open?: boolean } = {}) {
  const commands: SocketCommand[] = [];
  let parent: AnyActorRef | null = null;
  const logic = fromCallback<SocketCommand, SocketBridgeInput>(({ receive, sendBack, self }) => {
    parent = self._parent ?? null;
    receive((command) => commands.push(command));
    if (open) sendBack({ type: 'socket.open' });
  });
  return {
    logic,
    commands,
    /** The socket closes (as ws reports it), with the given counters. */
    closed(code = 1000, reason = '', counters: ConnectionCounters = emptyCounters()) {
      parent!.send({ type: 'socket.closed', code, reason, counters });
    },
  };
}

/** A protocol that closes when asked to by a message `close <code>`, throws on `throw`, echoes otherwise. */
export const scriptedProtocol = setup({
  types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted },
  actions: {
    react: emit(({ event }) => {
      const [first] = event.messages;
      if (first === 'throw') throw new Error('protocol bug');
      if (first.startsWith('close ')) return { type: 'close' as const, code: Number(first.slice(6)), reason: 'bye' };
      return { type: 'send' as const, messages: event.messages };
    }),
  },
}).createMachine({ on: { 'socket.messages': { actions: 'react' } } });
