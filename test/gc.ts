import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How many of `refs` still reach their target after a full garbage
 * collection. A WeakRef holds its target until the job that made or read it
 * ends, so this waits a turn first (with real timers).
 */
export async function stillReachable(refs: readonly WeakRef<object>[]): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return refs.filter((ref) => ref.deref() !== undefined).length;
}
