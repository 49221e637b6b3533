import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { fromPromise } from 'xstate';
import { WebSocketServer } from 'ws';
import { connectionMachine } from '../machines/connection.machine';
import type { ConnectionKind } from './actors/connections.actor';
import type { Admission, UpgradeTransport } from './actors/listener.actor';
import { clientEventTypes } from './actors/codec';
import { canPersist, resumable } from './actors/hibernation';
import { BridgedWebSocket, createSocketBridge, type LiveConnection } from './actors/socket.bridge';
import type { Inspection } from './actors/stationary';
import type { Broker } from './broker/broker';
import type { ResolvedOptions } from './options';
import { builtinProtocols, type ProtocolDefinition } from './protocols';

/** Every protocol served, by name: the built-in ones, then the server's own. */
export function protocolsOf(o: ResolvedOptions): Map<string, ProtocolDefinition> {
  return new Map(Object.entries({ ...builtinProtocols, ...o.protocols }));
}

/** The first subprotocol a client offers that the server serves, if any (RFC 6455 4.2.2: the server picks one). */
function offeredProtocol(request: IncomingMessage, protocols: ReadonlyMap<string, ProtocolDefinition>): string | undefined {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return undefined;
  return header.split(',').map((p) => p.trim()).find((p) => protocols.has(p));
}

/**
 * Decides on an upgrade request before any WebSocket exists: its Origin
 * against the allowlist (403), then its protocol by subprotocol, else by path
 * (`path` serves the default; `/<name>` serves that protocol), else 404.
 */
export function createAdmission(o: ResolvedOptions, protocols: ReadonlyMap<string, ProtocolDefinition>) {
  const origins = o.allowOrigins === undefined ? null : new Set(o.allowOrigins);
  return (request: IncomingMessage, path: string): Admission => {
    const origin = request.headers.origin;
    if (origin === undefined ? o.requireOrigin : origins !== null && !origins.has(origin)) {
      return { status: 403, message: 'Forbidden' };
    }
    const offered = offeredProtocol(request, protocols);
    if (offered !== undefined) return { protocol: offered };
    if (path === o.path) return { protocol: o.protocol };
    const named = path.slice(1);
    if (protocols.has(named)) return { protocol: named };
    return { status: 404, message: 'Not Found' };
  };
}

export interface ConnectionParts {
  logger: Logger;
  broker: Broker;
  registry: Map<string, LiveConnection>;
  /** Inspection observers on the server's actor system (`watchInspection`). */
  inspection: Inspection;
}

/** How each protocol's connections start: the connection machine with its protocol and hooks provided, and a socket bridge factory. */
export function createConnectionLogic(o: ResolvedOptions, protocols: ReadonlyMap<string, ProtocolDefinition>, parts: ConnectionParts) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxPayload,
    perMessageDeflate: false,
    // Every message of a read is emitted during the read (ws's default, relied on by the bridge's reads).
    allowSynchronousEvents: true,
    clientTracking: false,
    WebSocket: BridgedWebSocket,
    handleProtocols: (offered) => [...offered].find((p) => protocols.has(p)) ?? false,
  });
  const authenticate = o.authenticate;
  // A connection its actor would have nothing to do for until the first message (no authenticate hook, a protocol that
  // starts with it) opens hibernating: no actor until then. Unless actors are being watched (an inspection observer,
  // the inspector): then every connection shows from its upgrade.
  const canOpenAsleep = o.hibernate && authenticate === undefined && o.inspect === undefined && !o.inspector;
  const kinds = new Map<string, ConnectionKind>();
  for (const [name, protocol] of protocols) {
    const socket = createSocketBridge({
      protocolName: name,
      codec: protocol.codec,
      logger: parts.logger,
      wss,
      outboxLimit: o.outboxLimit,
      outboxPolicy: { reliable: o.slowConsumer, volatile: o.slowConsumerVolatile },
      registry: parts.registry,
      broker: parts.broker,
      badFrameTolerance: o.badFrameTolerance,
      clientTypes: clientEventTypes(protocol.machine),
      heartbeatInterval: o.heartbeatInterval,
      pongTimeout: o.pongTimeout,
      inspection: parts.inspection,
    });
    const logic = connectionMachine.provide({
      actors: {
        protocol: resumable(protocol.machine),
        ...(authenticate === undefined
          ? {}
          : { authenticate: fromPromise<unknown, { transport: unknown }>(async ({ input }) => authenticate((input.transport as UpgradeTransport).request!)) }),
      },
      guards: {
        startsLazily: () => protocol.start === 'message',
        hibernates: () => o.hibernate,
        protocolCanHibernate: ({ context }) => canPersist(context.protocol),
      },
      delays: {
        heartbeatInterval: o.heartbeatInterval,
        pongTimeout: o.pongTimeout,
        closeTimeout: o.closeTimeout,
        restartWindow: o.restartWindow,
      },
    });
    kinds.set(name, { logic, socket, opensAsleep: canOpenAsleep && protocol.start === 'message' });
  }
  return { kinds, common: { authenticate: authenticate !== undefined, maxRestarts: o.maxRestarts, maxTopics: o.maxTopics } };
}
