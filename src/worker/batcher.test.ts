import { describe, expect, it, vi } from 'vitest';
import { EventBatcher } from './batcher.ts';
import type { TrainingEvent } from './protocol.ts';

const evalEvent = (step: number): TrainingEvent => ({
  type: 'eval',
  step,
  loss: 1,
  perplexity: 2.7,
});

describe('EventBatcher', () => {
  it('sends per-step events at most once per interval, in order', () => {
    vi.useFakeTimers();
    let t = 0;
    const sent: TrainingEvent[][] = [];
    const b = new EventBatcher(
      (e) => sent.push(e),
      250,
      () => t,
    );
    for (let i = 1; i <= 10; i++) b.push(evalEvent(i));
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(0);
    t = 1;
    expect(sent.length).toBe(1);
    expect(sent[0]!.map((e) => (e.type === 'eval' ? e.step : 0))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    b.push(evalEvent(11));
    vi.advanceTimersByTime(200);
    expect(sent.length).toBe(1); // within 250 ms of the last batch
    t = 260;
    vi.advanceTimersByTime(60);
    expect(sent.length).toBe(2);
    vi.useRealTimers();
  });

  it('flushes at once on state and error events', () => {
    const sent: TrainingEvent[][] = [];
    const b = new EventBatcher(
      (e) => sent.push(e),
      250,
      () => 0,
    );
    b.push(evalEvent(1));
    b.push({ type: 'state', state: 'paused' });
    expect(sent).toEqual([[evalEvent(1), { type: 'state', state: 'paused' }]]);
  });

  it('swallows a rejected delivery (the page reloaded) and keeps delivering', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const sent: TrainingEvent[][] = [];
      let gone = true;
      const b = new EventBatcher(
        (e) => {
          sent.push(e);
          return gone ? Promise.reject(new Error('gone')) : Promise.resolve();
        },
        250,
        () => 0,
      );
      expect(() => b.push({ type: 'state', state: 'running' })).not.toThrow();
      // Node reports an unhandled rejection once the microtask queue drains: wait past that.
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect(sent).toEqual([[{ type: 'state', state: 'running' }]]);
      // The batcher still works: the next events go out (the page came back).
      gone = false;
      b.push({ type: 'state', state: 'paused' });
      expect(sent).toEqual([
        [{ type: 'state', state: 'running' }],
        [{ type: 'state', state: 'paused' }],
      ]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('swallows a delivery that throws at once and keeps delivering', () => {
    const sent: TrainingEvent[][] = [];
    let gone = true;
    const b = new EventBatcher(
      (e) => {
        sent.push(e);
        if (gone) throw new Error('the port is closed');
      },
      250,
      () => 0,
    );
    expect(() => b.push({ type: 'state', state: 'running' })).not.toThrow();
    gone = false;
    b.push({ type: 'state', state: 'paused' });
    expect(sent).toEqual([
      [{ type: 'state', state: 'running' }],
      [{ type: 'state', state: 'paused' }],
    ]);
  });
});
