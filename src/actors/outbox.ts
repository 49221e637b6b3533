import { Subject } from 'rxjs';

/** Where an outbox writes: one batch of frames per call. */
export interface OutboxSink {
  /** True while frames can still be written. */
  isOpen(): boolean;
  /** Writes the frames, in order, as one batch (one socket write where possible). */
  write(messages: readonly string[]): void;
}

/** Counters of one outbox. */
export interface OutboxStats {
  enqueued: number;
  written: number;
  /** Accepted but never written: the sink was closed when their turn came. */
  undelivered: number;
}

/** Schedules a flush after the current turn; injectable so tests control it. */
export type Scheduler = (flush: () => void) => void;

const nextTick: Scheduler = (flush) => process.nextTick(flush);

/**
 * A connection's outbound channel: an RxJS Subject many producers write into
 * (the protocol, later topics and broadcasts) and one writer drains. Messages
 * queued during one turn of the event loop go out as one batch.
 *
 * @example
 * const outbox = new Outbox(sink);
 * outbox.push('Echo: hi'); // written with everything else queued this turn
 * outbox.flush();          // or right now, e.g. before a close frame
 */
export class Outbox {
  /** The producer side of the channel. */
  readonly input = new Subject<string>();
  readonly stats: OutboxStats = { enqueued: 0, written: 0, undelivered: 0 };
  private queue: string[] = [];
  private scheduled = false;
  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly sink: OutboxSink,
    private readonly schedule: Scheduler = nextTick,
  ) {
    this.input.subscribe((message) => this.enqueue(message));
  }

  /** Queues one message; a shorthand for `outbox.input.next(message)`. */
  push(message: string): void {
    this.input.next(message);
  }

  /** Writes everything queued now, in order. Messages the sink can no longer take are counted undelivered. */
  flush(): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    if (this.sink.isOpen()) {
      this.sink.write(batch);
      this.stats.written += batch.length;
    } else {
      this.stats.undelivered += batch.length;
    }
  }

  /** Completes the channel: later pushes are ignored, and what is still queued is counted undelivered. */
  close(): void {
    this.input.complete();
    this.stats.undelivered += this.queue.length;
    this.queue = [];
  }

  private enqueue(message: string): void {
    this.stats.enqueued++;
    this.queue.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.flushScheduled);
    }
  }
}
