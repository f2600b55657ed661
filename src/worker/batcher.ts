/**
 * Batches training events on their way to the UI: the trainer emits one event per step, the page
 * gets at most one message per interval (state changes and errors go at once, with what is pending).
 */
import type { TrainingEvent } from './protocol.ts';

/** Collects events and sends them in batches. */
export class EventBatcher {
  private pending: TrainingEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last = -Infinity;

  constructor(
    private readonly send: (events: TrainingEvent[]) => unknown,
    private readonly intervalMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Queues an event; 'state' and 'error' events flush everything at once. */
  push(e: TrainingEvent): void {
    this.pending.push(e);
    if (e.type === 'state' || e.type === 'error') {
      this.flush();
      return;
    }
    if (this.timer !== null) return;
    const wait = Math.max(0, this.last + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Sends what is pending now. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.last = this.now();
    try {
      // A comlink callback returns a promise that rejects when the page has gone (reload).
      const r = this.send(batch);
      if (r instanceof Promise) r.catch(() => undefined);
    } catch {
      /* the page went away: nothing to deliver to */
    }
  }
}
