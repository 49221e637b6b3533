import { resolveOptions } from '../../src/options';
import { StatewireError } from '../../src/protocol/errors';

describe('resolveOptions: inspection and metrics', () => {
  it('defaults to metrics on and the inspector off', () => {
    expect(resolveOptions()).toMatchObject({ metrics: true, inspector: false });
    expect(resolveOptions().inspectorToken).toBeUndefined();
  });

  it.each([
    [{ inspector: 'yes' }, 'inspector must be a boolean'],
    [{ metrics: 1 }, 'metrics must be a boolean'],
    [{ inspector: true, inspectorToken: '' }, 'inspectorToken must be a non-empty string'],
    [{ inspectorToken: 'x' }, 'inspectorToken needs the inspector turned on'],
    [{ inspect: { notNext: true } }, 'inspect must be a function or an observer with next()'],
  ])('refuses %j', (options, message) => {
    expect(() => resolveOptions(options as never)).toThrow(new StatewireError('bad_option', message));
  });
});
