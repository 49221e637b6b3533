import { SimulatedClock } from 'xstate';

/** A loop of zero-delay timers would never let `advance` return; past this many hops it throws instead. */
const MAX_HOPS = 100_000;

/**
 * A `SimulatedClock` that advances hop by hop. `SimulatedClock#increment(ms)`
 * jumps straight to the end and fires everything due at once, so a timer
 * started by another timer's handler starts late (at the end of the jump,
 * not at its parent's deadline) and chained delays drift. `advance(ms)`
 * moves to each pending deadline in turn, so every handler runs at its own
 * instant and chained delays fire in order, at the times a real clock would.
 *
 * @example
 * const clock = new SteppingClock();
 * const actor = createActor(machine, { clock }).start();
 * clock.advance(30_000); // every timer due in the next 30 s fires, in order
 */
export class SteppingClock extends SimulatedClock {
  private readonly deadlines = new Map<number, number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = super.setTimeout(() => {
      this.deadlines.delete(id);
      fn();
    }, timeout);
    this.deadlines.set(id, this.now() + timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.deadlines.delete(id);
    super.clearTimeout(id);
  }

  /** The instant the earliest pending timer is due, or `undefined` when none is pending. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const deadline of this.deadlines.values()) if (next === undefined || deadline < next) next = deadline;
    return next;
  }

  /** Moves time forward by `ms`, stopping at every deadline on the way so each timer fires at its own instant. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(ms) takes a finite, non-negative number, got ${ms}`);
    const target = this.now() + ms;
    for (let hops = 0; ; hops++) {
      const next = this.nextDeadline();
      if (next === undefined || next > target) break;
      if (hops === MAX_HOPS) throw new Error(`timers kept firing at ${this.now()} ms: more than ${MAX_HOPS} hops within one advance`);
      this.set(Math.max(next, this.now()));
    }
    this.set(target);
  }
}
