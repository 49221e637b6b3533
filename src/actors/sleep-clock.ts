/** Something a `SleepClock` wakes: `sleepDue` is the clock's bookkeeping (0 while not scheduled). */
export interface Sleeper {
  sleepDue: number;
  onDue(): void;
}

/** How late a `SleepClock` may wake a sleeper by default, in milliseconds. */
export const SLEEP_RESOLUTION = 10;

/**
 * Wakes many sleepers at their due times with one timer, as a timer wheel:
 * due times are rounded up to `resolution` milliseconds (`SLEEP_RESOLUTION` by default), and the sleepers of
 * one slot share one array. A hibernated connection's heartbeat is held here,
 * so it costs a slot entry (8 bytes) rather than a Node `Timeout` (about 120
 * bytes, and a new one for every ping and every pong). A sleeper leaves by
 * `cancel`, in O(1): its entry is skipped when its slot comes.
 */
export class SleepClock {
  private readonly slots = new Map<number, Sleeper[]>();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  constructor(private readonly resolution = SLEEP_RESOLUTION) {}

  /** Calls `sleeper.onDue()` in `delay` ms (up to `resolution` ms later), unless cancelled or scheduled again first. */
  schedule(sleeper: Sleeper, delay: number): void {
    const due = Math.ceil((Date.now() + delay) / this.resolution) * this.resolution;
    sleeper.sleepDue = due;
    const slot = this.slots.get(due);
    if (slot === undefined) this.slots.set(due, [sleeper]);
    else slot.push(sleeper);
    if (due < this.armedFor) this.arm(due);
  }

  cancel(sleeper: Sleeper): void {
    sleeper.sleepDue = 0;
  }

  private arm(due: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedFor = due;
    this.timer = setTimeout(this.tick, Math.max(0, due - Date.now()));
    // Connections keep the process alive, not their sleeping heartbeats.
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = null;
    this.armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [due, slot] of this.slots) {
      if (due > now) {
        if (due < next) next = due;
        continue;
      }
      this.slots.delete(due);
      for (const sleeper of slot) {
        if (sleeper.sleepDue !== due) continue;
        sleeper.sleepDue = 0;
        sleeper.onDue();
      }
    }
    // onDue may have scheduled sooner than `next` (and armed for it).
    if (next < this.armedFor) this.arm(next);
  };
}
