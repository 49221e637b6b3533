import { Outbox, type OutboxOptions, type OutboxSink } from '../../src/actors/outbox';

/** A sink whose unsent bytes the test sets, as a socket whose peer stopped reading would report them. */
function fakeSink() {
  const writes: string[][] = [];
  const drains: (() => void)[] = [];
  const state = { open: true, buffered: 0, bufferOnWrite: false };
  const sink: OutboxSink = {
    isOpen: () => state.open,
    bufferedAmount: () => state.buffered,
    write: (messages) => {
      writes.push([...messages]);
      if (state.bufferOnWrite) for (const m of messages) state.buffered += Buffer.byteLength(m);
    },
    onDrain: (listener) => drains.push(listener),
  };
  const drain = () => {
    state.buffered = 0;
    drains.forEach((listener) => listener());
  };
  return { sink, writes, state, drain, drains };
}

function manualScheduler() {
  const pending: (() => void)[] = [];
  return { schedule: (flush: () => void) => pending.push(flush), run: () => pending.splice(0).forEach((f) => f()), pending };
}

function setup(options: OutboxOptions = {}) {
  const sink = fakeSink();
  const turn = manualScheduler();
  const events: string[] = [];
  const outbox = new Outbox(sink.sink, {
    schedule: turn.schedule,
    onCongestion: (congested) => events.push(congested ? 'congested' : 'flowing'),
    onOverflow: () => events.push('overflow'),
    ...options,
  });
  return { outbox, turn, events, ...sink };
}

/** enqueued = written + dropped + undelivered + still queued */
function expectAccounted(outbox: Outbox) {
  const { enqueued, written, dropped, undelivered } = outbox.stats;
  expect(enqueued).toBe(written + dropped.close + dropped['drop-newest'] + dropped['drop-oldest'] + undelivered + outbox.queuedMessages);
}

describe('Outbox', () => {
  describe('batching', () => {
    it('writes everything queued in one turn as one batch, in order', () => {
      const { outbox, turn, writes } = setup();
      outbox.push('a');
      outbox.input.next({ data: 'b', bytes: 1, volatile: false });
      outbox.push('c');
      expect(writes).toEqual([]);
      expect(turn.pending).toHaveLength(1);
      turn.run();
      expect(writes).toEqual([['a', 'b', 'c']]);
      expect(outbox.stats).toMatchObject({ enqueued: 3, written: 3, writtenBytes: 3, undelivered: 0 });
    });

    it('once a producer holds `input`, pushes go through it too: a reader of the channel sees them, in order', () => {
      const { outbox, turn, writes } = setup();
      outbox.push('a'); // before anyone asked for the channel
      const seen: string[] = [];
      outbox.input.subscribe((message) => seen.push(message.data));
      outbox.push('b');
      outbox.input.next({ data: 'c', bytes: 1, volatile: false });
      outbox.push('d');
      turn.run();
      expect(seen).toEqual(['b', 'c', 'd']);
      expect(writes).toEqual([['a', 'b', 'c', 'd']]);
      expectAccounted(outbox);
    });

    it('held: a batch is written as it is released, in one write, with no flush scheduled for it', () => {
      const { outbox, turn, writes } = setup();
      outbox.hold();
      outbox.push('a');
      outbox.push('b');
      expect(turn.pending).toHaveLength(0);
      expect(writes).toEqual([]);
      outbox.release();
      expect(writes).toEqual([['a', 'b']]);
      outbox.hold();
      outbox.release();
      expect(writes).toEqual([['a', 'b']]);
      expectAccounted(outbox);
    });

    it('held after a flush was scheduled: release leaves the batch to that flush, written once', () => {
      const { outbox, turn, writes } = setup();
      outbox.push('a');
      outbox.hold();
      outbox.push('b');
      outbox.release();
      expect(writes).toEqual([]);
      turn.run();
      expect(writes).toEqual([['a', 'b']]);
      outbox.push('c');
      expect(turn.pending).toHaveLength(1);
    });

    it('schedules one flush per turn', () => {
      const { outbox, turn, writes } = setup();
      outbox.push('a');
      turn.run();
      outbox.push('b');
      outbox.push('c');
      expect(turn.pending).toHaveLength(1);
      turn.run();
      expect(writes).toEqual([['a'], ['b', 'c']]);
    });

    it('flushes on demand, ahead of the scheduled turn', () => {
      const { outbox, turn, writes } = setup();
      outbox.push('a');
      outbox.flush();
      turn.run();
      expect(writes).toEqual([['a']]);
    });

    it('flushes after the current turn with the default scheduler', async () => {
      const { sink, writes } = fakeSink();
      const outbox = new Outbox(sink);
      outbox.push('a');
      expect(writes).toEqual([]);
      await new Promise((resolve) => process.nextTick(resolve));
      expect(writes).toEqual([['a']]);
    });

    it('counts bytes as UTF-8', () => {
      const { outbox, turn } = setup();
      outbox.push('ü✓');
      turn.run();
      expect(outbox.stats.writtenBytes).toBe(5);
    });
  });

  describe('bound', () => {
    it('holds back while the socket has a window of unsent bytes, and reports congestion until it drains', () => {
      const { outbox, turn, writes, state, drain, events } = setup({ limit: 1000, window: 10 });
      state.buffered = 10;
      outbox.push('a');
      turn.run();
      expect(writes).toEqual([]);
      expect(events).toEqual(['congested']);
      expect(outbox.queued).toBe(1);
      drain();
      expect(writes).toEqual([['a']]);
      expect(events).toEqual(['congested', 'flowing']);
    });

    it('keeps queued plus unsent bytes within the limit plus one message', () => {
      const { outbox, turn, state } = setup({ limit: 100, window: 10, policy: { reliable: 'drop-newest' } });
      state.bufferOnWrite = true;
      for (let i = 0; i < 50; i++) {
        outbox.push('x'.repeat(30));
        turn.run();
        expect(outbox.queued + state.buffered).toBeLessThanOrEqual(100 + 30);
      }
      expect(outbox.stats.dropped['drop-newest']).toBeGreaterThan(0);
      expectAccounted(outbox);
    });

    it('closes as a slow consumer under the close policy: reports the overflow once and drops what follows', () => {
      const { outbox, events, state } = setup({ limit: 10 });
      state.buffered = 11;
      outbox.push('a');
      outbox.push('b');
      expect(events).toEqual(['congested', 'overflow']);
      expect(outbox.stats.dropped.close).toBe(2);
      state.buffered = 0;
      outbox.push('c');
      expect(outbox.stats.dropped.close).toBe(3);
      expectAccounted(outbox);
    });

    it('drops the newest message under drop-newest and keeps the queue', () => {
      const { outbox, turn, writes, state, drain } = setup({ limit: 3, window: 1, policy: { reliable: 'drop-newest' } });
      state.buffered = 1;
      outbox.push('a');
      outbox.push('b');
      outbox.push('c');
      outbox.push('d');
      turn.run();
      expect(outbox.stats.dropped['drop-newest']).toBe(1);
      drain();
      expect(writes).toEqual([['a', 'b', 'c']]);
      expectAccounted(outbox);
    });

    it('drops the oldest queued messages under drop-oldest to make room for the newest', () => {
      const { outbox, turn, writes, state, drain } = setup({ limit: 3, window: 1, policy: { reliable: 'drop-oldest' } });
      state.buffered = 1;
      outbox.push('a');
      outbox.push('b');
      outbox.push('c');
      outbox.push('d');
      turn.run();
      expect(outbox.stats.dropped['drop-oldest']).toBe(2);
      drain();
      expect(writes).toEqual([['c', 'd']]);
      expectAccounted(outbox);
    });

    it('drops the newest under drop-oldest when the socket alone is past the limit', () => {
      const { outbox, state } = setup({ limit: 3, policy: { reliable: 'drop-oldest' } });
      state.buffered = 5;
      outbox.push('a');
      expect(outbox.stats.dropped).toEqual({ close: 0, 'drop-newest': 1, 'drop-oldest': 0 });
    });

    it('applies the volatile policy to volatile messages and the reliable one to the rest', () => {
      const { outbox, events, state } = setup({ limit: 1 });
      state.buffered = 2;
      outbox.push('tick', { volatile: true });
      expect(events).toEqual(['congested']);
      expect(outbox.stats.dropped['drop-newest']).toBe(1);
      outbox.push('order');
      expect(events).toEqual(['congested', 'overflow']);
    });

    it('reports congestion while the socket holds a window of unsent bytes after a write, and flowing once it drains', () => {
      const { outbox, turn, state, drain, events } = setup({ limit: 1000, window: 4 });
      state.bufferOnWrite = true;
      outbox.push('abcd');
      turn.run();
      expect(events).toEqual(['congested']);
      drain();
      expect(events).toEqual(['congested', 'flowing']);
    });
  });

  describe('close', () => {
    it('writes everything on a forced flush, even while congested', () => {
      const { outbox, writes, state } = setup({ limit: 1000, window: 1 });
      state.buffered = 5;
      outbox.push('a');
      outbox.flush();
      expect(writes).toEqual([]);
      outbox.flush({ force: true });
      expect(writes).toEqual([['a']]);
    });

    it('counts as undelivered what the sink can no longer take', () => {
      const { outbox, turn, writes, state } = setup();
      outbox.push('a');
      state.open = false;
      turn.run();
      expect(writes).toEqual([]);
      expect(outbox.stats).toMatchObject({ enqueued: 1, written: 0, undelivered: 1 });
    });

    it('counts what is still queued at close as undelivered and refuses later pushes', () => {
      const { outbox, turn, writes } = setup();
      outbox.push('a');
      outbox.push('b');
      outbox.close();
      outbox.push('c');
      turn.run();
      expect(writes).toEqual([]);
      expect(outbox.stats).toMatchObject({ enqueued: 2, written: 0, undelivered: 2 });
      expectAccounted(outbox);
    });

    it('refuses pushes after a close that came before any message', () => {
      const { outbox, turn, writes } = setup();
      outbox.close();
      outbox.push('a');
      outbox.input.next({ data: 'b', bytes: 1, volatile: false });
      turn.run();
      expect(writes).toEqual([]);
      expect(outbox.stats).toMatchObject({ enqueued: 0, written: 0, undelivered: 0 });
    });
  });

  describe('shared options', () => {
    it('tells the callbacks of one options object which outbox congested or overflowed, by its sink', () => {
      const one = fakeSink();
      const two = fakeSink();
      const heard: [string, unknown][] = [];
      const turn = manualScheduler();
      const options: OutboxOptions = {
        limit: 4,
        window: 2,
        schedule: turn.schedule,
        onCongestion: (congested, sink) => heard.push([congested ? 'congested' : 'flowing', sink]),
        onOverflow: (sink) => heard.push(['overflow', sink]),
      };
      const first = new Outbox(one.sink, options);
      const second = new Outbox(two.sink, options);
      two.state.buffered = 2;
      second.push('a');
      turn.run();
      first.push('xxxxx');
      one.state.buffered = 5;
      first.push('b');
      expect(heard).toEqual([
        ['congested', two.sink],
        ['congested', one.sink],
        ['overflow', one.sink],
      ]);
    });
  });

  describe('what an idle outbox holds', () => {
    it('watches the socket for drain only once it has congested', () => {
      const { outbox, turn, state, drains } = setup({ limit: 1000, window: 10 });
      outbox.push('a');
      turn.run();
      expect(drains).toHaveLength(0);
      state.buffered = 10;
      outbox.push('b');
      turn.run();
      expect(drains).toHaveLength(1);
      state.buffered = 0;
      drains[0]();
      state.buffered = 10;
      outbox.push('c');
      turn.run();
      expect(drains).toHaveLength(1);
    });
  });
});
