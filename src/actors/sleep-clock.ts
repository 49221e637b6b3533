/** Something a `SleepClock` wakes: `sleepDue` and `sleepIndex` are the clock's bookkeeping (`sleepDue` is 0 while not scheduled). */
export interface Sleeper {
  sleepDue: number;
  sleepIndex: number;
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
 * `cancel`, in O(1): the last entry of its slot takes its place, so the clock
 * keeps no reference to it (a closed connection is not held until its slot comes).
 */
export class SleepClock {
  private readonly slots = new Map<number, Sleeper[]>();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  constructor(private readonly resolution = SLEEP_RESOLUTION) {}

  /**
   * Calls `sleeper.onDue()` in `delay` ms (at least 1, up to `resolution` ms later), unless cancelled or scheduled
   * again first. The 1 ms floor keeps what a sleeper schedules as it wakes out of the slot being woken.
   */
  schedule(sleeper: Sleeper, delay: number): void {
    this.cancel(sleeper);
    const due = Math.ceil((Date.now() + Math.max(1, delay)) / this.resolution) * this.resolution;
    let slot = this.slots.get(due);
    if (slot === undefined) {
      slot = [];
      this.slots.set(due, slot);
    }
    sleeper.sleepDue = due;
    sleeper.sleepIndex = slot.length;
    slot.push(sleeper);
    if (due < this.armedFor) this.arm(due);
  }

  cancel(sleeper: Sleeper): void {
    const due = sleeper.sleepDue;
    if (due === 0) return;
    sleeper.sleepDue = 0;
    const slot = this.slots.get(due)!;
    const last = slot.pop()!;
    if (last !== sleeper) {
      slot[sleeper.sleepIndex] = last;
      last.sleepIndex = sleeper.sleepIndex;
    } else if (slot.length === 0) {
      // The timer stays armed: under churn (a connection opening asleep and closing soon after) re-arming per
      // connection would cost a clearTimeout and a setTimeout each, and a timer firing for nothing costs once.
      this.slots.delete(due);
    }
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
      // Taken from the end, so that a sleeper of this slot cancelled or rescheduled by another's onDue leaves it consistent.
      while (slot.length > 0) {
        const sleeper = slot.pop()!;
        sleeper.sleepDue = 0;
        sleeper.onDue();
      }
      this.slots.delete(due);
    }
    // onDue may have scheduled sooner than `next` (and armed for it).
    if (next < this.armedFor) this.arm(next);
  };
}
