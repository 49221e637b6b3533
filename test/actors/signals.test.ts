import { assign, createActor, setup } from 'xstate';
import { noSignals, processSignals, SIGNAL_ECHO_WINDOW_MS } from '../../src/actors/signals.actor';

/** A parent that invokes a signal source and records the signals it reports. */
function listen(source: typeof processSignals) {
  const machine = setup({ actors: { source } }).createMachine({
    context: { signals: [] as string[] },
    invoke: { src: 'source' },
    on: { signal: { actions: assign(({ context, event }) => ({ signals: [...context.signals, (event as unknown as { signal: string }).signal] })) } },
  });
  return createActor(machine).start();
}

const listeners = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');

describe('processSignals', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('reports SIGINT and SIGTERM, counting copies within the echo window as one', () => {
    const actor = listen(processSignals);
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    jest.setSystemTime(Date.now() + SIGNAL_ECHO_WINDOW_MS - 1);
    process.emit('SIGINT', 'SIGINT');
    expect(actor.getSnapshot().context.signals).toEqual(['SIGINT']);
    jest.setSystemTime(Date.now() + SIGNAL_ECHO_WINDOW_MS);
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGTERM', 'SIGTERM');
    expect(actor.getSnapshot().context.signals).toEqual(['SIGINT', 'SIGINT', 'SIGTERM']);
    actor.stop();
  });

  it('swallows signals for one echo window after it stops, then lets go of them', () => {
    const before = listeners();
    const actor = listen(processSignals);
    expect(listeners()).toBe(before + 2);
    actor.stop();
    // A late copy arriving now finds a listener: Node's default action (death by signal) does not run.
    expect(listeners()).toBe(before + 2);
    process.emit('SIGINT', 'SIGINT');
    jest.advanceTimersByTime(SIGNAL_ECHO_WINDOW_MS);
    expect(listeners()).toBe(before);
  });
});

describe('noSignals', () => {
  it('listens to nothing', () => {
    const before = listeners();
    const actor = listen(noSignals);
    expect(listeners()).toBe(before);
    process.emit('SIGTERM' as never);
    expect(actor.getSnapshot().context.signals).toEqual([]);
    actor.stop();
  });
});
