import { describe, expect, it } from 'vitest';
import { errorKind } from '../util/errors.ts';
import { TooLargeError } from './errors.ts';
import { blockByteSizes, blockBytesLimit, blockRowCount } from './row-blocks.ts';

describe('row blocks (sizes)', () => {
  it('one block when the whole matrix fits, else as many rows as fit', () => {
    expect(blockRowCount(37, 16, 'f32', 37 * 64)).toBe(37);
    expect(blockRowCount(37, 16, 'f32', 37 * 64 - 4)).toBe(36);
    expect(blockRowCount(200, 16, 'f32', 2560)).toBe(40);
    expect(blockByteSizes(200, 16, 'f32', 2560)).toEqual([2560, 2560, 2560, 2560, 2560]);
  });

  it('keeps rows × cols even per block for packed 16-bit dtypes', () => {
    // 7 bf16 columns: 14 bytes a row; 384 bytes hold 27 rows, kept to 26 so blocks start on a word.
    expect(blockRowCount(53, 7, 'bf16', 384)).toBe(26);
    expect(blockByteSizes(53, 7, 'bf16', 384)).toEqual([364, 364, 16]);
    // Even columns need no rounding.
    expect(blockRowCount(53, 8, 'f16', 384)).toBe(24);
  });

  it('Llama-3.2-1B: the 128256 × 2048 embedding under 128 MiB bindings', () => {
    const cap = blockBytesLimit({
      maxBufferSize: 256 * 2 ** 20,
      maxStorageBufferBindingSize: 2 ** 27,
    });
    expect(cap).toBe(2 ** 27);
    const bf16 = blockByteSizes(128256, 2048, 'bf16', cap);
    expect(bf16.length).toBe(4);
    expect(Math.max(...bf16)).toBeLessThanOrEqual(cap);
    expect(bf16.reduce((a, b) => a + b)).toBe(128256 * 2048 * 2);
    const f32 = blockByteSizes(128256, 2048, 'f32', cap);
    expect(f32.length).toBe(8);
    expect(f32.reduce((a, b) => a + b)).toBe(128256 * 2048 * 4);
  });

  it('refuses a row that does not fit, as too large for this GPU', () => {
    expect(() => blockRowCount(10, 100, 'f32', 396)).toThrow(TooLargeError);
    let e: unknown;
    try {
      blockRowCount(10, 100, 'f32', 396);
    } catch (x) {
      e = x;
    }
    expect(errorKind(e)).toBe('out-of-memory');
    expect((e as Error).message).toMatch(/One row of 100 f32 values binds 400 bytes at once/);
  });
});
