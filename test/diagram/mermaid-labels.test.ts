import { and, createMachine, fromPromise, not, or, setup, stateIn } from 'xstate';
import { toMermaid } from '../../src/diagram/mermaid';

describe('toMermaid labels', () => {
  const machine = setup({
    guards: { a: () => true, b: () => true, c: () => true },
    actions: { log: () => undefined },
    delays: { computed: () => 10 },
  }).createMachine({
    id: 'labels',
    initial: 'one',
    states: {
      one: {
        // Inline logic (not named in setup), as some machines do.
        invoke: { src: fromPromise(async () => 1), onDone: 'two' } as never,
        on: {
          NESTED: { guard: or([and(['a', 'b']), not('c')]), target: 'two' },
          INSIDE: { guard: stateIn('#labels.two'), target: 'two' },
          NAMED: { actions: 'log' },
        },
        after: { computed: 'two' },
      },
      two: {
        initial: 'inner',
        states: { inner: { on: { BACK: '#labels.two.hist' } }, hist: { type: 'history', history: 'deep' } },
      },
    },
  });
  const lines = toMermaid(machine).split('\n').map((line) => line.trim());

  it('labels an inline invoked actor by its generated id when it has no src name', () => {
    expect(lines.some((line) => /^one --> two : done#58; /.test(line))).toBe(true);
  });

  it('parenthesises nested and/or guards', () => {
    expect(lines).toContain('one --> two : NESTED [(a and b) or not c]');
  });

  it('labels a stateIn guard with the state it needs', () => {
    expect(lines.find((line) => line.startsWith('one --> two : INSIDE'))).toMatch(/\[in two\]$/);
  });

  it('names the actions of a targetless transition', () => {
    expect(lines).toContain('one --> one : NAMED / log');
  });

  it('labels a named delay computed by a function with its name', () => {
    expect(lines).toContain('one --> two : after computed');
  });

  it('draws a deep history state as H*', () => {
    expect(lines).toContain('state "H*" as two_hist');
  });

  it('labels a numeric delay in milliseconds', () => {
    const inline = createMachine({ initial: 'a', states: { a: { after: { [String(5)]: 'b' } }, b: {} } });
    expect(toMermaid(inline)).toContain('a --> b : after 5ms');
  });
});
