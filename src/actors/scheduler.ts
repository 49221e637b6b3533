import type { ActorSystem, AnyActorRef } from 'xstate';

type AnyActorSystem = ActorSystem<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type Scheduler = AnyActorSystem['scheduler'];

/** The part of XState 5.33's system internals this module relies on (xstate is pinned to that version). */
interface SystemInternals {
  _snapshot: { _scheduledEvents: Record<string, unknown> };
}

/** What the index tells of an actor. */
export interface DelayedEventIndex {
  /** Ids the index holds for an actor, pending or fired and not yet pruned (for tests). */
  tracked(source: AnyActorRef): number;
  /** The actor's delayed events still pending. */
  pending(source: AnyActorRef): number;
}

const indexes = new WeakMap<AnyActorSystem, DelayedEventIndex>();

/** How many delayed events an actor has pending: through its system's index, else by walking the system's table. */
export function pendingDelayedEvents(actor: AnyActorRef): number {
  const index = indexes.get(actor.system);
  if (index !== undefined) return index.pending(actor);
  const prefix = `${actor.sessionId}.`;
  let pending = 0;
  for (const key in (actor.system as unknown as SystemInternals)._snapshot._scheduledEvents) if (key.startsWith(prefix)) pending++;
  return pending;
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
 * an index entry stays as small as the actor's pending events: one string
 * while it has one, as a connection mostly does. `pendingDelayedEvents`
 * reads the index of the actor's system.
 */
export function indexDelayedEvents(system: AnyActorSystem): DelayedEventIndex {
  const scheduler: Scheduler = system.scheduler;
  const { schedule, cancel } = scheduler;
  // Read at each use: the system swaps in a fresh table when it starts.
  const internals = system as unknown as SystemInternals;
  // An actor's pending ids: one string in the usual case (a connection has one timer pending), a Set beyond.
  const bySource = new Map<AnyActorRef, string | Set<string>>();
  const isPending = (source: AnyActorRef, id: string): boolean => `${source.sessionId}.${id}` in internals._snapshot._scheduledEvents;

  scheduler.schedule = (source, target, event, delay, id = Math.random().toString(36).slice(2)) => {
    const ids = bySource.get(source);
    if (ids === undefined || (typeof ids === 'string' && !isPending(source, ids))) {
      bySource.set(source, id);
    } else if (typeof ids === 'string') {
      bySource.set(source, new Set([ids, id]));
    } else {
      for (const known of ids) if (!isPending(source, known)) ids.delete(known);
      ids.add(id);
    }
    schedule(source, target, event, delay, id);
  };
  scheduler.cancel = (source, id) => {
    const ids = bySource.get(source);
    if (ids === id) bySource.delete(source);
    else if (typeof ids === 'object') ids.delete(id);
    cancel(source, id);
  };
  scheduler.cancelAll = (source) => {
    const ids = bySource.get(source);
    if (ids === undefined) return;
    bySource.delete(source);
    if (typeof ids === 'string') cancel(source, ids);
    else for (const id of ids) cancel(source, id);
  };
  const index: DelayedEventIndex = {
    tracked: (source) => {
      const ids = bySource.get(source);
      return ids === undefined ? 0 : typeof ids === 'string' ? 1 : ids.size;
    },
    pending: (source) => {
      const ids = bySource.get(source);
      if (ids === undefined) return 0;
      if (typeof ids === 'string') return isPending(source, ids) ? 1 : 0;
      let pending = 0;
      for (const id of ids) if (isPending(source, id)) pending++;
      return pending;
    },
  };
  indexes.set(system, index);
  return index;
}
