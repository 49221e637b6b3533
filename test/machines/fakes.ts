import { setup, emit } from 'xstate';
import type { AnyActorRef } from 'xstate';
import {
  emptyCounters,
  type ConnectionCounters,
  type ProtocolEmitted,
  type ProtocolInput,
  type SocketCommand,
  type SocketPort,
} from '../../src/protocol/events';

/**
 * A socket bridge that completes the upgrade when told (unless `open: false`),
 * records the other commands it is sent, and lets a test speak for the socket.
 * Give `port` as the connection's `input.socket`, then `attach` the actor
 * before starting it.
 */
export function fakeSocket({ open = true }: { open?: boolean } = {}) {
  const commands: SocketCommand[] = [];
  /** The protocol actors it was told to wire, in order, and whether each replaced a crashed one. */
  const wired: { protocol: unknown; restarted: boolean }[] = [];
  let connection: AnyActorRef | null = null;
  const port: SocketPort = {
    send(command) {
      if (command.type === 'socket.protocol') wired.push({ protocol: command.protocol, restarted: command.restarted });
      else if (command.type === 'socket.upgrade') {
        if (open) connection!.send({ type: 'socket.open' });
      } else commands.push(command);
    },
  };
  return {
    port,
    commands,
    wired,
    /** The connection actor this bridge reports to; returned as it is. */
    attach<T extends AnyActorRef>(actor: T): T {
      connection = actor;
      return actor;
    },
    /** The socket closes (as ws reports it), with the given counters. */
    closed(code = 1000, reason = '', counters: ConnectionCounters = emptyCounters()) {
      connection!.send({ type: 'socket.closed', code, reason, counters });
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

/** A protocol that joins and leaves topics when told to. */
export const topicMember = setup({
  types: { events: {} as { type: 'join' | 'leave'; topic: string }, emitted: {} as ProtocolEmitted },
}).createMachine({
  on: {
    join: { actions: emit(({ event }) => ({ type: 'subscribe' as const, topic: event.topic })) },
    leave: { actions: emit(({ event }) => ({ type: 'unsubscribe' as const, topic: event.topic })) },
  },
});
