import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { pendingDelayedEvents } from './scheduler';

/**
 * A protocol's logic that can also start from a persisted snapshot
 * (`input.restore`): how the protocol of a connection waking from
 * hibernation resumes where it was, without running its entry actions again.
 */
export function resumable(logic: AnyActorLogic): AnyActorLogic {
  const resuming: AnyActorLogic = Object.create(logic);
  resuming.getInitialSnapshot = (scope, input) => {
    const restore = (input as { restore?: unknown } | undefined)?.restore;
    return restore !== undefined && logic.restoreSnapshot !== undefined
      ? logic.restoreSnapshot(restore as never, scope)
      : logic.getInitialSnapshot(scope, input);
  };
  return resuming;
}

/**
 * Whether a protocol actor can be persisted and resumed later: running, with
 * no actors of its own and no delayed event pending (a timer would be lost).
 */
export function canPersist(protocol: AnyActorRef | null): boolean {
  if (protocol === null) return true;
  const snapshot = protocol.getSnapshot() as { status: string; children?: object };
  if (snapshot.status !== 'active' || typeof protocol.getPersistedSnapshot !== 'function') return false;
  for (const _child in snapshot.children) return false;
  return pendingDelayedEvents(protocol) === 0;
}
