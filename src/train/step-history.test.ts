import { describe, expect, it } from 'vitest';
import {
  GPU_MEMORY_FIELDS,
  readRecord,
  RECORD_WIDTH,
  STEP_FIELDS,
  StepHistory,
  writeRecord,
} from './step-history.ts';
import type { StepRecord } from './types.ts';

const rec = (i: number): StepRecord => ({
  step: i + 1,
  loss: 3 - i / 7,
  smoothLoss: 3.1 - i / 9,
  lr: 2e-3 * Math.min(1, (i + 1) / 5),
  gradNorm: 0.5 + i / 3,
  tokensPerSec: 100 + i,
  elapsedMs: 1000 * (i + 1) + 0.25,
});

describe('StepHistory', () => {
  it('gives back every record exactly, past its reserved capacity', () => {
    const h = new StepHistory(3);
    const want = Array.from({ length: 11 }, (_, i) => rec(i));
    for (const r of want) h.push(r);
    expect(h.length).toBe(11);
    expect(h.toArray()).toEqual(want);
    expect([...h]).toEqual(want);
    expect(h.map((r) => r.loss)).toEqual(want.map((r) => r.loss));
    expect(h.at(-1)).toEqual(want[10]);
    expect(h.at(0)).toEqual(want[0]);
    expect(h.at(11)).toBeUndefined();
    expect(h.at(-12)).toBeUndefined();
  });

  it("keeps each step's measured memory, and none where a record had none", () => {
    const h = new StepHistory(2);
    const current = {
      weights: 1_234_567,
      lora: 4096,
      gradients: 8192,
      optimizer: 16_384,
      activations: 5_400_000,
      workspace: 3_600_000,
    };
    const withMemory = { ...rec(0), memory: { current, peakTotal: 11_000_000 } };
    const host = { checkpoints: 3 * 2 ** 30, optimizer: 1_048_576 };
    const withHost = { ...rec(2), memory: { current, peakTotal: 11_000_000, host } };
    h.push(withMemory);
    h.push(rec(1));
    h.push(withHost);
    expect(h.at(0)).toEqual(withMemory);
    expect(h.at(0)!.memory!.host).toBeUndefined();
    expect(h.at(1)).toEqual(rec(1));
    expect(h.at(1)!.memory).toBeUndefined();
    expect(h.at(2)).toEqual(withHost);
  });

  it('reads the layout from before host memory was kept (GPU memory only) without host', () => {
    const current = {
      ...{ weights: 1, lora: 2, gradients: 3 },
      ...{ optimizer: 4, activations: 5, workspace: 6 },
    };
    const r = {
      ...rec(0),
      memory: { current, peakTotal: 21, host: { checkpoints: 7, optimizer: 8 } },
    };
    const out = new Float64Array(RECORD_WIDTH);
    writeRecord(r, out, 0);
    const older = out.subarray(0, STEP_FIELDS.length + GPU_MEMORY_FIELDS.length);
    expect(readRecord(older, 0, older.length)).toEqual({
      ...r,
      memory: { current, peakTotal: 21 },
    });
    expect(readRecord(out, 0)).toEqual(r);
  });

  it('replace() restores a checkpoint history and pushing continues after it', () => {
    const h = new StepHistory(2);
    for (let i = 0; i < 5; i++) h.push(rec(i));
    h.replace([rec(7), rec(8)]);
    h.push(rec(9));
    expect(h.toArray()).toEqual([rec(7), rec(8), rec(9)]);
    h.replace([]);
    expect(h.length).toBe(0);
    expect(h.at(-1)).toBeUndefined();
  });
});
