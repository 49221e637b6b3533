export { createServer } from './server';
export type { Server, ShutdownReport } from './server';
export { DEFAULTS, resolveOptions } from './options';
export type { ServerOptions, LogLevel, ProtocolName } from './options';
export { defineProtocol, builtinProtocols } from './protocols';
export type { ProtocolDefinition, ProtocolStart } from './protocols';
export { CloseCode, isSendableCloseCode } from './protocol/close-codes';
export { StatewireError, ErrorCodes } from './protocol/errors';
export type { ErrorCode } from './protocol/errors';
export type {
  ClientEvent,
  CloseRecord,
  JsonMessage,
  ListenAddress,
  OverflowPolicy,
  ProtocolActorInput,
  ProtocolEmitted,
  ProtocolInput,
  ShutdownSummary,
  SocketCommand,
  SocketPort,
} from './protocol/events';
export { Outbox } from './actors/outbox';
export type { LiveConnection } from './actors/socket.bridge';
export type { Broker, TopicMessage } from './broker/broker';
export { createMemoryBroker } from './broker/memory.broker';
export { connectionMachine } from '../machines/connection.machine';
export { supervisorMachine } from '../machines/supervisor.machine';
export { echoMachine } from '../machines/protocols/echo.machine';
export { topicsMachine } from '../machines/protocols/topics.machine';
export { reply, replyTimeout, startReplyDeadline } from '../machines/protocols/reply';
export { replyDeadlineMachine } from '../machines/protocols/reply-deadline.machine';
