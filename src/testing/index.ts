/**
 * `statewire/testing`: test a protocol deterministically, in memory and on
 * simulated time, and a whole server over loopback.
 */
export { createTestConnection } from './connection';
export type { TestConnection, TestConnectionOptions, TestProtocol } from './connection';
export { SteppingClock } from './clock';
export { startTestServer } from './server';
export type { TestClient, TestServer } from './server';
