import type { AnyStateMachine } from 'xstate';
import { echoMachine } from '../machines/protocols/echo.machine';
import type { Codec } from './actors/socket.actor';
import type { ProtocolName } from './options';

/** A protocol: a machine that receives decoded inbound messages and emits what to send. */
export interface ProtocolDefinition {
  name: string;
  machine: AnyStateMachine;
  codec: Codec;
}

/** The protocols statewire ships, by name. */
export const builtinProtocols: Record<ProtocolName, ProtocolDefinition> = {
  echo: { name: 'echo', machine: echoMachine, codec: 'text' },
};
