import { describe, expect, it } from 'vitest';
import { VIEW_ROW_GRANULE, viewBlockRows } from './row-blocks.ts';

describe('token blocks for row views (sizes)', () => {
  it('all rows when they fit, else the largest 64·2^k rows within the cap', () => {
    expect(viewBlockRows(200, 1024, 200 * 1024)).toBe(200);
    expect(viewBlockRows(200, 1024, 200 * 1024 - 4)).toBe(128);
    expect(viewBlockRows(1000, 1024, 520 * 1024)).toBe(512);
    expect(viewBlockRows(200, 1024, 96 * 1024)).toBe(64);
    expect(viewBlockRows(200, 1024, 63 * 1024)).toBe(0);
    // A preferred block size bounds it too, in 64·2^k rows once split.
    expect(viewBlockRows(200, 4, 1 << 20, 100)).toBe(64);
    expect(viewBlockRows(100, 4, 1 << 20, 100)).toBe(100);
  });

  it('64 rows of any 32-bit row start on a 256-byte boundary', () => {
    for (const cols of [1, 3, 8, 5632, 11008]) {
      expect((VIEW_ROW_GRANULE * cols * 4) % 256).toBe(0);
    }
  });

  it('the MLP of TinyLlama, Llama-3.2-1B and Llama-2-7B at 8192 tokens under 128 MiB', () => {
    const cap = 2 ** 27;
    for (const F of [5632, 8192, 11008]) {
      const n = viewBlockRows(8192, F * 4, cap);
      expect(Number.isInteger(Math.log2(n / 64))).toBe(true);
      expect(n * F * 4).toBeLessThanOrEqual(cap);
      expect(2 * n * F * 4).toBeGreaterThan(cap);
    }
  });
});
