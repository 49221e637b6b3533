import type { ActorSystem, AnyActorRef } from 'xstate';

type AnyActorSystem = ActorSystem<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type Scheduler = AnyActorSystem['scheduler'];

/** The part of XState 5.33's system internals this module relies on (xstate is pinned to that version). */
interface SystemInternals {
  _snapshot: { _scheduledEvents: Record<string, unknown> };
}

/**
 * Indexes a system's delayed events by the actor that scheduled them.
 *
 * XState's scheduler cancels an actor's delayed events when it stops by
 * walking every delayed event of the whole system (`cancelAll` is a `for...in`
 * over all of them). Every connection keeps one pending (its heartbeat or its
 * close deadline) in the supervisor's system, so each connection that closed
 * paid for all the others: a drain of N connections cost O(N^2). With the
 * index, stopping an actor touches only its own delayed events.
 *
 * Ids of events that fired are pruned when the same actor schedules again, so
 * an index entry stays as small as the actor's pending events. Returns how
 * many ids the index holds for an actor, for tests.
 */
export function indexDelayedEvents(system: AnyActorSystem): { tracked(source: AnyActorRef): number } {
  const scheduler: Scheduler = system.scheduler;
  const { schedule, cancel } = scheduler;
  // Read at each use: the system swaps in a fresh table when it starts.
  const internals = system as unknown as SystemInternals;
  const bySource = new Map<AnyActorRef, Set<string>>();

  scheduler.schedule = (source, target, event, delay, id = Math.random().toString(36).slice(2)) => {
    let ids = bySource.get(source);
    if (ids === undefined) {
      ids = new Set();
      bySource.set(source, ids);
    } else {
      const pending = internals._snapshot._scheduledEvents;
      for (const known of ids) if (!(`${source.sessionId}.${known}` in pending)) ids.delete(known);
    }
    ids.add(id);
    schedule(source, target, event, delay, id);
  };
  scheduler.cancel = (source, id) => {
    bySource.get(source)?.delete(id);
    cancel(source, id);
  };
  scheduler.cancelAll = (source) => {
    const ids = bySource.get(source);
    if (ids === undefined) return;
    bySource.delete(source);
    for (const id of ids) cancel(source, id);
  };
  return { tracked: (source) => bySource.get(source)?.size ?? 0 };
}
