import { SLEEP_RESOLUTION, SleepClock, type Sleeper } from '../../src/actors/sleep-clock';

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

/** A sleeper that records when it woke (in ms since the test began) and may schedule itself again. */
type Recorder = Sleeper & { woke: number[] };

function sleeper(onDue: (self: Recorder) => void = () => undefined) {
  const woke: number[] = [];
  const self: Recorder = {
    sleepDue: 0,
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
});
