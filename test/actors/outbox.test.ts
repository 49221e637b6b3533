import { Outbox, type OutboxSink } from '../../src/actors/outbox';

function fakeSink() {
  const writes: string[][] = [];
  let open = true;
  const sink: OutboxSink = { isOpen: () => open, write: (messages) => writes.push([...messages]) };
  return { sink, writes, close: () => (open = false) };
}

function manualScheduler() {
  const pending: (() => void)[] = [];
  return { schedule: (flush: () => void) => pending.push(flush), run: () => pending.splice(0).forEach((f) => f()), pending };
}

describe('Outbox', () => {
  it('writes everything queued in one turn as one batch, in order', () => {
    const { sink, writes } = fakeSink();
    const turn = manualScheduler();
    const outbox = new Outbox(sink, turn.schedule);
    outbox.push('a');
    outbox.input.next('b');
    outbox.push('c');
    expect(writes).toEqual([]);
    expect(turn.pending).toHaveLength(1);
    turn.run();
    expect(writes).toEqual([['a', 'b', 'c']]);
    expect(outbox.stats).toEqual({ enqueued: 3, written: 3, undelivered: 0 });
  });

  it('schedules one flush per turn', () => {
    const { sink, writes } = fakeSink();
    const turn = manualScheduler();
    const outbox = new Outbox(sink, turn.schedule);
    outbox.push('a');
    turn.run();
    outbox.push('b');
    outbox.push('c');
    expect(turn.pending).toHaveLength(1);
    turn.run();
    expect(writes).toEqual([['a'], ['b', 'c']]);
  });

  it('flushes on demand, ahead of the scheduled turn', () => {
    const { sink, writes } = fakeSink();
    const turn = manualScheduler();
    const outbox = new Outbox(sink, turn.schedule);
    outbox.push('a');
    outbox.flush();
    expect(writes).toEqual([['a']]);
    turn.run();
    expect(writes).toEqual([['a']]);
  });

  it('counts as undelivered what the sink can no longer take', () => {
    const { sink, writes, close } = fakeSink();
    const turn = manualScheduler();
    const outbox = new Outbox(sink, turn.schedule);
    outbox.push('a');
    close();
    turn.run();
    expect(writes).toEqual([]);
    expect(outbox.stats).toEqual({ enqueued: 1, written: 0, undelivered: 1 });
  });

  it('counts what is still queued at close as undelivered and ignores later pushes', () => {
    const { sink, writes } = fakeSink();
    const turn = manualScheduler();
    const outbox = new Outbox(sink, turn.schedule);
    outbox.push('a');
    outbox.push('b');
    outbox.close();
    outbox.push('c');
    turn.run();
    expect(writes).toEqual([]);
    expect(outbox.stats).toEqual({ enqueued: 2, written: 0, undelivered: 2 });
  });

  it('flushes after the current turn with the default scheduler', async () => {
    const { sink, writes } = fakeSink();
    const outbox = new Outbox(sink);
    outbox.push('a');
    expect(writes).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(writes).toEqual([['a']]);
  });
});
