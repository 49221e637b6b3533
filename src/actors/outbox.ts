import type { Subject } from 'rxjs';
import { Subject as SubjectClass } from '../rx';
import { noDrops, type ConnectionCounters, type OverflowPolicy } from '../protocol/events';

export type { OverflowPolicy };

/** The policy per message class: volatile messages may be dropped, reliable ones should not. */
export interface OutboxPolicy {
  reliable: OverflowPolicy;
  volatile: OverflowPolicy;
}

/** Why a message was dropped: the policy that dropped it (`close` drops what arrives after the overflow). */
export type DropReason = OverflowPolicy;

/** Where an outbox writes. */
export interface OutboxSink {
  /** True while frames can still be written. */
  isOpen(): boolean;
  /** Bytes written to the socket and not yet sent to the kernel (ws's `bufferedAmount`). */
  bufferedAmount(): number;
  /** Writes the frames, in order, as one batch (one socket write where possible). */
  write(messages: readonly string[]): void;
  /** Calls `listener` whenever the socket's write buffer has drained. */
  onDrain(listener: () => void): void;
}

/** Counters of one outbox; their identity: enqueued = written + dropped + undelivered + still queued. */
export interface OutboxStats {
  enqueued: number;
  enqueuedBytes: number;
  written: number;
  writtenBytes: number;
  dropped: Record<DropReason, number>;
  droppedBytes: number;
  /** Accepted but never written because the socket closed first. */
  undelivered: number;
}

/** What a connection counted on its way in. */
export interface InboundCounts {
  messagesIn: number;
  bytesIn: number;
  readAfterClose: number;
}

/** A connection's counters for its close record: what it read, and what its outbox did. */
export function connectionCounters(inbound: InboundCounts, stats: OutboxStats): ConnectionCounters {
  return {
    messagesIn: inbound.messagesIn,
    bytesIn: inbound.bytesIn,
    enqueued: stats.enqueued,
    messagesOut: stats.written,
    bytesOut: stats.writtenBytes,
    dropped: { ...stats.dropped },
    undelivered: { readAfterClose: inbound.readAfterClose, socketClosed: stats.undelivered },
  };
}

/** What an outbox is told: limits and policy, shareable by every outbox of a server; its callbacks get the outbox's sink. */
export interface OutboxOptions {
  /** Bytes queued plus the socket's bufferedAmount may not pass this (plus one message). Default 1 MiB. */
  limit?: number;
  /** Default `{ reliable: 'close', volatile: 'drop-newest' }`. */
  policy?: Partial<OutboxPolicy>;
  /** While the socket holds this many unsent bytes, the outbox holds back and reports congestion. Default min(limit, 64 KiB). */
  window?: number;
  /** Schedules the per-turn flush; injectable so tests control it. Default `process.nextTick`. */
  schedule?: Scheduler;
  /** Called when the outbox starts holding back (true) and when it flows again (false). */
  onCongestion?: (congested: boolean, sink: OutboxSink) => void;
  /** Called once, when a message meets the `close` policy: the connection should close as a slow consumer. */
  onOverflow?: (sink: OutboxSink) => void;
}

/** Schedules a flush after the current turn. */
export type Scheduler = (flush: () => void) => void;

interface Queued {
  data: string;
  bytes: number;
  volatile: boolean;
}

const nextTick: Scheduler = (flush) => process.nextTick(flush);
export const DEFAULT_OUTBOX_LIMIT = 1024 * 1024;
export const DEFAULT_POLICY: OutboxPolicy = { reliable: 'close', volatile: 'drop-newest' };

/**
 * A connection's outbound channel: an RxJS Subject many producers write into
 * (the protocol, broadcasts, later topics) and one writer drains to the
 * socket. Messages queued during one turn of the event loop go out as one
 * batch. It is bounded in bytes: queued bytes plus the socket's unsent bytes
 * never pass `limit` by more than one message; past it the message's class
 * policy decides. Control frames (ping, pong, close) never enter it.
 *
 * @example
 * const outbox = new Outbox(sink, { limit: 1 << 20, onOverflow: () => closeAsSlowConsumer() });
 * outbox.push('Echo: hi');                 // written with everything else queued this turn
 * outbox.push('tick', { volatile: true }); // dropped rather than queued past the limit
 * outbox.flush({ force: true });           // now, e.g. before a close frame
 */
export class Outbox {
  /** Made when a producer first asks for `input` (`push` does without it until then). */
  private channel: Subject<Queued> | null = null;
  readonly stats: OutboxStats = {
    enqueued: 0,
    enqueuedBytes: 0,
    written: 0,
    writtenBytes: 0,
    dropped: noDrops(),
    droppedBytes: 0,
    undelivered: 0,
  };
  readonly limit: number;
  private readonly window: number;
  private readonly schedule: Scheduler;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  /** Between `hold` and `release`: what is queued waits for `release` rather than for the end of the turn. */
  private holding = false;
  private congested = false;
  private overflowed = false;
  private closed = false;
  private drainWatched = false;
  /** Made with the first scheduled flush: an idle connection's outbox never schedules one. */
  private flushScheduled: (() => void) | null = null;

  constructor(
    private readonly sink: OutboxSink,
    private readonly options: OutboxOptions = {},
  ) {
    this.limit = options.limit ?? DEFAULT_OUTBOX_LIMIT;
    this.window = options.window ?? Math.min(this.limit, 64 * 1024);
    this.schedule = options.schedule ?? nextTick;
  }

  /** The producer side of the channel. */
  get input(): Subject<Queued> {
    if (this.channel === null) {
      this.channel = new SubjectClass<Queued>();
      if (this.closed) this.channel.complete();
      else this.channel.subscribe((message) => this.enqueue(message));
    }
    return this.channel;
  }

  /**
   * Queues one message, as `outbox.input.next(...)` does. Until a producer
   * asks for `input`, the queue is the channel's only reader, so the message
   * goes there directly: no Subject is made and a reply takes no RxJS step
   * (about 0.6 us of a message's 6-7 us in statewire at one message per read).
   * Once `input` exists, every message goes through it, in one order.
   */
  push(data: string, options?: { volatile?: boolean }): void {
    const message: Queued = { data, bytes: Buffer.byteLength(data), volatile: options?.volatile === true };
    if (this.channel === null) this.enqueue(message);
    else this.channel.next(message);
  }

  /** Bytes queued here and not yet handed to the socket. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** What counts against the limit: bytes queued here plus the socket's unsent bytes. */
  get backlog(): number {
    return this.queuedBytes + this.sink.bufferedAmount();
  }

  /** Messages queued here and not yet handed to the socket. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /**
   * Writes what is queued, in order. It holds back while the socket has
   * `window` unsent bytes, unless `force` (before a close frame, where
   * everything accepted must go out first).
   */
  flush(options?: { force?: boolean }): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    if (!this.sink.isOpen()) {
      this.stats.undelivered += batch.length;
      this.clearQueue();
      return;
    }
    if (options?.force !== true && this.sink.bufferedAmount() >= this.window) {
      this.setCongested(true);
      return;
    }
    const messages = new Array<string>(batch.length);
    for (let i = 0; i < batch.length; i++) messages[i] = batch[i].data;
    this.sink.write(messages);
    this.stats.written += batch.length;
    this.stats.writtenBytes += this.queuedBytes;
    this.clearQueue();
    // Congested while the socket holds a window of unsent bytes; the drain listener flows it again.
    this.setCongested(this.sink.bufferedAmount() >= this.window);
  }

  /**
   * Holds the per-turn flush while one producer queues a batch it knows the
   * end of (a delivery's replies); `release` then writes what was queued, at
   * once, in one write.
   */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    if (!this.scheduled) this.flush();
  }

  /** Completes the channel: later pushes are refused, and what is still queued is counted undelivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.complete();
    this.stats.undelivered += this.queue.length;
    this.clearQueue();
  }

  private enqueue(message: Queued): void {
    if (this.closed) return;
    this.stats.enqueued++;
    this.stats.enqueuedBytes += message.bytes;
    if (this.queuedBytes + this.sink.bufferedAmount() > this.limit || this.overflowed) {
      this.setCongested(true);
      if (!this.overflow(message)) return;
    }
    this.queue.push(message);
    this.queuedBytes += message.bytes;
    if (!this.scheduled && !this.holding) {
      this.scheduled = true;
      this.schedule(
        (this.flushScheduled ??= () => {
          this.scheduled = false;
          this.flush();
        }),
      );
    }
  }

  /** Applies the message's class policy past the limit; true when the message is to be queued after all. */
  private overflow(message: Queued): boolean {
    const policy = this.overflowed ? 'close' : this.policyFor(message.volatile);
    if (policy === 'drop-oldest') {
      const buffered = this.sink.bufferedAmount();
      while (this.queue.length > 0 && this.queuedBytes + buffered + message.bytes > this.limit) {
        const oldest = this.queue.shift()!;
        this.queuedBytes -= oldest.bytes;
        this.drop(oldest, 'drop-oldest');
      }
      if (this.queuedBytes + buffered <= this.limit) return true;
    }
    this.drop(message, policy === 'drop-oldest' ? 'drop-newest' : policy);
    if (policy === 'close' && !this.overflowed) {
      this.overflowed = true;
      this.options.onOverflow?.(this.sink);
    }
    return false;
  }

  /** Read when a message meets the limit (rare), so no outbox holds a merged copy of the policy. */
  private policyFor(volatile: boolean): OverflowPolicy {
    const { policy } = this.options;
    return volatile ? (policy?.volatile ?? DEFAULT_POLICY.volatile) : (policy?.reliable ?? DEFAULT_POLICY.reliable);
  }

  private drop(message: Queued, reason: DropReason): void {
    this.stats.dropped[reason]++;
    this.stats.droppedBytes += message.bytes;
  }

  private clearQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  private setCongested(congested: boolean): void {
    if (this.congested === congested) return;
    this.congested = congested;
    // The drain listener is needed only once the socket has congested: most sockets never do.
    if (congested && !this.drainWatched) {
      this.drainWatched = true;
      this.sink.onDrain(() => {
        if (!this.congested) return;
        if (this.queue.length > 0) this.flush();
        else this.setCongested(this.sink.bufferedAmount() >= this.window);
      });
    }
    this.options.onCongestion?.(congested, this.sink);
  }
}
