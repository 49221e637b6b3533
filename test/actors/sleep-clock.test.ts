import { SLEEP_RESOLUTION, SleepClock, type Sleeper } from '../../src/actors/sleep-clock';
import { stillReachable } from '../gc';

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

/** A sleeper that records when it woke (in ms since the test began) and may schedule itself again. */
type Recorder = Sleeper & { woke: number[] };

function sleeper(onDue: (self: Recorder) => void = () => undefined) {
  const woke: number[] = [];
  const self: Recorder = {
    sleepDue: 0,
    sleepIndex: 0,
    woke,
    onDue: () => {
      woke.push(Date.now() - 1_000_000);
      onDue(self);
    },
  };
  return self;
}

describe('sleep clock', () => {
  it('wakes each sleeper at its due time or at most one resolution later, never earlier, with one timer for all', () => {
    const clock = new SleepClock();
    const sleepers = Array.from({ length: 100 }, () => sleeper());
    sleepers.forEach((s, i) => clock.schedule(s, 1000 + i * 7));
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(2000);
    sleepers.forEach((s, i) => {
      expect(s.woke).toHaveLength(1);
      expect(s.woke[0]).toBeGreaterThanOrEqual(1000 + i * 7);
      expect(s.woke[0]).toBeLessThanOrEqual(1000 + i * 7 + SLEEP_RESOLUTION);
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('skips a cancelled sleeper, and wakes a rescheduled one only at its new time', () => {
    const clock = new SleepClock();
    const cancelled = sleeper();
    const moved = sleeper();
    clock.schedule(cancelled, 100);
    clock.schedule(moved, 100);
    clock.cancel(cancelled);
    clock.schedule(moved, 500);
    jest.advanceTimersByTime(1000);
    expect(cancelled.woke).toEqual([]);
    expect(moved.woke).toHaveLength(1);
    expect(moved.woke[0]).toBeGreaterThanOrEqual(500);
  });

  it('arms for a sooner time scheduled later, and for what a sleeper schedules as it wakes', () => {
    const clock = new SleepClock(10);
    const late = sleeper();
    const soon = sleeper();
    const repeating = sleeper((self) => self.woke.length < 3 && clock.schedule(self, 100));
    clock.schedule(late, 5000);
    clock.schedule(soon, 200);
    clock.schedule(repeating, 100);
    jest.advanceTimersByTime(400);
    expect(soon.woke).toHaveLength(1);
    expect(repeating.woke).toHaveLength(3);
    expect(late.woke).toEqual([]);
    jest.advanceTimersByTime(5000);
    expect(late.woke).toHaveLength(1);
  });

  it('cancels in any order within a slot, and lets its timer lapse when nothing is left to wake', () => {
    const clock = new SleepClock();
    const [a, b, c, d] = [sleeper(), sleeper(), sleeper(), sleeper()];
    for (const s of [a, b, c, d]) clock.schedule(s, 100);
    clock.cancel(a); // d takes a's place
    clock.cancel(d);
    clock.cancel(d); // a second cancel is nothing
    jest.advanceTimersByTime(200);
    expect([a.woke, b.woke.length, c.woke.length, d.woke]).toEqual([[], 1, 1, []]);

    const e = sleeper();
    const f = sleeper();
    clock.schedule(e, 100);
    clock.schedule(f, 300);
    clock.cancel(f);
    clock.cancel(e);
    // Still armed for e's slot (disarming and re-arming per cancel would cost more under churn); it then finds nothing to wake and lapses.
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(jest.getTimerCount()).toBe(0);
    expect([e.woke, f.woke]).toEqual([[], []]);
  });

  it('lets a waking sleeper cancel or reschedule another of its slot, and never wakes one twice in a tick', () => {
    const clock = new SleepClock();
    const victims: Recorder[] = [];
    const canceller = sleeper(() => victims.forEach((v) => clock.cancel(v)));
    const again = sleeper((self) => self.woke.length === 1 && clock.schedule(self, 0));
    victims.push(sleeper(), sleeper());
    for (const s of [victims[0], canceller, victims[1], again]) clock.schedule(s, 100);
    jest.advanceTimersByTime(100);
    // The slot is woken from its end: `again` first, then `victims[1]`, then the canceller, which stops `victims[0]`.
    expect(victims.map((v) => v.woke.length)).toEqual([0, 1]);
    expect(canceller.woke).toHaveLength(1);
    // Rescheduled with no delay as it woke: woken in a later tick, not the same one.
    expect(again.woke).toHaveLength(1);
    jest.advanceTimersByTime(SLEEP_RESOLUTION);
    expect(again.woke).toHaveLength(2);
  });

  it('holds no reference to a sleeper once it is cancelled', async () => {
    jest.useRealTimers();
    const clock = new SleepClock();
    const kept = sleeper();
    clock.schedule(kept, 60_000);
    const refs = Array.from({ length: 100 }, () => {
      const s = sleeper();
      clock.schedule(s, 60_000);
      return new WeakRef(s);
    });
    for (const ref of refs) clock.cancel(ref.deref()!);
    expect(await stillReachable(refs)).toBe(0);
    clock.cancel(kept);
  });
});
