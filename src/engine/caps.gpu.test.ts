import { afterAll, describe, expect, it } from 'vitest';
import { OutOfMemoryError, TooLargeError } from './errors.ts';
import { addInto } from './kernels/elementwise.ts';
import type { Runtime } from './runtime.ts';
import { cappedRuntime, testRuntime } from '../test/gpu.ts';

const CAPS = { maxStorageBufferBindingSize: 1024, maxBufferSize: 2048 };

describe('runtime caps', () => {
  let rt: Runtime | null = null;
  const capped = async () => (rt ??= await cappedRuntime(CAPS));
  afterAll(() => rt?.destroy(true));

  it('report the lowered limits, never more than the adapter offers', async () => {
    const r = await capped();
    expect(r.info.limits.maxStorageBufferBindingSize).toBe(1024);
    expect(r.info.limits.maxBufferSize).toBe(2048);
    const full = await testRuntime();
    const huge = await cappedRuntime({ maxBufferSize: 2 ** 52 });
    expect(huge.info.limits.maxBufferSize).toBe(full.info.limits.maxBufferSize);
    huge.destroy(true);
  });

  it('a tensor over maxBufferSize throws TooLargeError naming it, its bytes and the limit', async () => {
    const r = await capped();
    const before = r.memory.snapshot().current;
    let err: unknown;
    try {
      r.tensor([513], 'f32', 'weights', 'model.embed_tokens.weight');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TooLargeError);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as TooLargeError).kind).toBe('out-of-memory');
    expect((err as Error).message).toContain('model.embed_tokens.weight');
    expect((err as Error).message).toContain('2052 bytes');
    expect((err as Error).message).toContain('maxBufferSize 2048');
    expect(r.memory.snapshot().current).toEqual(before);
    // At the limit is fine.
    r.tensor([512], 'f32', 'weights', 'ok').destroy();
  });

  it('a dispatch binding more than maxStorageBufferBindingSize throws TooLargeError first', async () => {
    const r = await capped();
    const big = r.tensor([300], 'f32', 'activations', 'big activations');
    const small = r.tensor([200], 'f32', 'activations', 'other');
    expect(() => addInto(r, big, small, 200)).toThrow(TooLargeError);
    expect(() => addInto(r, big, small, 200)).toThrow(
      /\[Buffer big activations\] binds 1200 bytes.*maxStorageBufferBindingSize 1024/,
    );
    // Within the cap the same kernel runs.
    const a = r.tensor([256], 'f32', 'activations', 'a', new Float32Array(256).fill(1));
    const b = r.tensor([256], 'f32', 'activations', 'b', new Float32Array(256).fill(2));
    addInto(r, a, b, 256);
    expect((await r.read(a))[255]).toBe(3);
    await r.sync();
    [big, small, a, b].forEach((t) => t.destroy());
  });
});
