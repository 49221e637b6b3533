import { setup } from 'xstate';
import { parseCli } from '../src/cli';
import { createServer } from '../src/server';
import { resolveOptions, type ServerOptions } from '../src/options';
import { StatewireError } from '../src/protocol/errors';
import { defineProtocol } from '../src/protocols';
import type { ProtocolEmitted, ProtocolInput } from '../src/protocol/events';

const machine = setup({ types: { events: {} as ProtocolInput, emitted: {} as ProtocolEmitted } }).createMachine({});
const custom = defineProtocol({ name: 'custom', machine, codec: 'text' });

describe('resolveOptions', () => {
  it('fills in every default', () => {
    expect(resolveOptions()).toMatchObject({ host: '127.0.0.1', port: 3030, path: '/ws', protocol: 'echo', maxTopics: 100, badFrameTolerance: 10 });
  });

  it('hibernates quiet connections unless told not to, on the command line too', () => {
    expect(resolveOptions().hibernate).toBe(true);
    expect(parseCli(['serve'])).not.toHaveProperty('hibernate');
    expect(parseCli(['serve', '--no-hibernate'])).toMatchObject({ hibernate: false });
  });

  it('accepts a protocol of the server\'s own as the default one', () => {
    expect(resolveOptions({ protocols: { custom }, protocol: 'custom' }).protocol).toBe('custom');
  });

  it.each<[string, ServerOptions, RegExp]>([
    ['an empty host', { host: '' }, /^host must be a non-empty string$/],
    ['a port out of range', { port: 70000 }, /^port must be an integer from 0 to 65535, got 70000$/],
    ['a fractional port', { port: 1.5 }, /^port must be an integer/],
    ['a path without /', { path: 'ws' }, /^path must start with "\/"/],
    ['protocols that are not an object', { protocols: 'echo' as never }, /^protocols must be an object/],
    ['a protocol name with spaces', { protocols: { 'my proto': custom } }, /^protocol names are letters/],
    ['a protocol not made by defineProtocol', { protocols: { raw: { name: 'raw', machine, codec: 'xml' } as never } }, /^protocols\.raw must come from defineProtocol/],
    ['a protocol without a machine', { protocols: { raw: {} as never } }, /^protocols\.raw must come from defineProtocol/],
    ['an unknown default protocol', { protocol: 'nope' }, /^protocol must be one of echo, topics, got "nope"$/],
    ['an authenticate that is not a function', { authenticate: 'yes' as never }, /^authenticate must be a function$/],
    ['allowOrigins that is not an array', { allowOrigins: 'https://a.example' as never }, /^allowOrigins must be an array/],
    ['allowOrigins with a number', { allowOrigins: [1] as never }, /^allowOrigins must be an array/],
    ['a requireOrigin that is not a boolean', { requireOrigin: 'yes' as never }, /^requireOrigin must be a boolean$/],
    ['negative maxTopics', { maxTopics: -1 }, /^maxTopics must be an integer/],
    ['a zero restartWindow', { restartWindow: 0 }, /^restartWindow must be an integer/],
    ['a zero heartbeatInterval', { heartbeatInterval: 0 }, /^heartbeatInterval must be an integer/],
    ['a timer past 2^31-1 ms', { drainTimeout: 2 ** 31 }, /^drainTimeout must be an integer/],
    ['an unknown overflow policy', { slowConsumer: 'ignore' as never }, /^slowConsumer must be one of close, drop-newest, drop-oldest/],
    ['an unknown volatile policy', { slowConsumerVolatile: 'keep' as never }, /^slowConsumerVolatile must be one of/],
    ['an unknown log level', { logLevel: 'loud' as never }, /^logLevel must be one of/],
    ['a handleSignals that is not a boolean', { handleSignals: 1 as never }, /^handleSignals must be a boolean$/],
    ['a hibernate that is not a boolean', { hibernate: 'no' as never }, /^hibernate must be a boolean$/],
    ['an inspect that is neither a function nor an observer', { inspect: {} as never }, /^inspect must be a function or an observer/],
  ])('refuses %s with bad_option', (_case, options, message) => {
    let thrown: unknown;
    try {
      resolveOptions(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StatewireError);
    expect(thrown).toMatchObject({ code: 'bad_option', message: expect.stringMatching(message) });
  });

  it('makes createServer throw synchronously on a bad option', () => {
    expect(() => createServer({ port: -1 })).toThrow(StatewireError);
  });
});
