import { fromCallback } from 'xstate';
import type { SupervisorEvent } from '../protocol/events';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Ctrl+C under `npm start` reaches the server twice: once from the terminal
 * (the whole process group gets SIGINT) and once forwarded by npm
 * (@npmcli/run-script's signal-manager). Copies of a signal that arrive within
 * this window count as one; a later one is a genuine second signal.
 */
export const SIGNAL_ECHO_WINDOW_MS = 100;

/** Process signals (SIGINT, SIGTERM) as `signal` events to the supervisor. */
export const processSignals = fromCallback<{ type: string }, void>(({ sendBack }) => {
  let last: { signal: string; at: number } | null = null;
  const handler = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (last !== null && last.signal === signal && now - last.at < SIGNAL_ECHO_WINDOW_MS) return;
    last = { signal, at: now };
    sendBack({ type: 'signal', signal } satisfies SupervisorEvent);
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return () => {
    // A copy still on its way after a fast drain would get Node's default action (death by signal):
    // keep swallowing signals for one echo window, on a timer that does not hold the process open.
    // Added before the handler goes: for an instant with no listener Node would restore the default action.
    const swallow = (): void => undefined;
    for (const signal of SIGNALS) {
      process.on(signal, swallow);
      process.off(signal, handler);
    }
    setTimeout(() => SIGNALS.forEach((signal) => process.off(signal, swallow)), SIGNAL_ECHO_WINDOW_MS).unref();
  };
});

/** The signal source of an embedded server: none. The host application decides when to call `close()`. */
export const noSignals = fromCallback<{ type: string }, void>(() => undefined);
