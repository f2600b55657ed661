import { describe, expect, it } from 'vitest';
import { MemoryTracker, totalBytes } from './memory.ts';

describe('MemoryTracker', () => {
  it('tracks current, per-category peak and total peak', () => {
    const m = new MemoryTracker();
    m.alloc('weights', 100);
    m.alloc('activations', 50);
    m.free('activations', 50);
    m.alloc('gradients', 30);
    const s = m.snapshot();
    expect(s.current.weights).toBe(100);
    expect(s.current.activations).toBe(0);
    expect(s.peak.activations).toBe(50);
    expect(s.peakTotal).toBe(150);
    expect(totalBytes(s.current)).toBe(130);
    m.resetPeak();
    expect(m.snapshot().peakTotal).toBe(130);
  });

  it('refuses to go negative (a double free is a bug)', () => {
    const m = new MemoryTracker();
    m.alloc('lora', 8);
    expect(() => m.free('lora', 16)).toThrow(/negative/);
  });
});
