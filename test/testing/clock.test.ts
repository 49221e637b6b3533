import { SimulatedClock } from 'xstate';
import { SteppingClock } from '../../src/testing';

describe('SteppingClock', () => {
  /** A timer that, when it fires, starts the next one: the shape of a heartbeat followed by a pong deadline. */
  function chain(clock: SimulatedClock, delays: number[], fired: number[]): void {
    const [first, ...rest] = delays;
    if (first === undefined) return;
    clock.setTimeout(() => {
      fired.push(clock.now());
      chain(clock, rest, fired);
    }, first);
  }

  it('fires chained timers at their own deadlines within one advance', () => {
    const clock = new SteppingClock();
    const fired: number[] = [];
    chain(clock, [1000, 300, 50], fired);
    clock.advance(1350);
    expect(fired).toEqual([1000, 1300, 1350]);
    expect(clock.now()).toBe(1350);
  });

  it('fixes what one large SimulatedClock increment gets wrong', () => {
    const plain = new SimulatedClock();
    const fired: number[] = [];
    chain(plain, [1000, 300], fired);
    plain.increment(1300);
    expect(fired).toEqual([1300]);
  });

  it('leaves timers due after the target pending and reports the next deadline', () => {
    const clock = new SteppingClock();
    const fired: number[] = [];
    chain(clock, [100, 100], fired);
    clock.advance(150);
    expect(fired).toEqual([100]);
    expect(clock.nextDeadline()).toBe(200);
    clock.advance(50);
    expect(fired).toEqual([100, 200]);
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('forgets a cleared timer', () => {
    const clock = new SteppingClock();
    const fn = jest.fn();
    const id = clock.setTimeout(fn, 10);
    clock.clearTimeout(id);
    clock.advance(100);
    expect(fn).not.toHaveBeenCalled();
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('fires a zero-delay timer on advance(0)', () => {
    const clock = new SteppingClock();
    const fn = jest.fn();
    clock.setTimeout(fn, 0);
    clock.advance(0);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('refuses to go backwards or by a non-finite amount', () => {
    const clock = new SteppingClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });

  it('throws instead of spinning forever on timers that keep rescheduling at the same instant', () => {
    const clock = new SteppingClock();
    const again = (): void => void clock.setTimeout(again, 0);
    again();
    expect(() => clock.advance(1)).toThrow(/kept firing at 0 ms/);
  });
});
