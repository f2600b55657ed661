/**
 * Loading streams: a vocabulary-sized matrix is read from the model file one row block at a time
 * (WeightSource.readRows over ModelTensor.readRange), so JS memory never holds the whole embedding —
 * on a runtime whose binding cap splits stories260K's embedding into blocks, the embedding is never
 * read whole, no read is larger than one block, and what lands on the GPU equals the file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToF32 } from '../io/dtype.ts';
import { openModelPath } from '../io/open-node.ts';
import type { Runtime } from '../engine/runtime.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { cappedRuntime } from '../test/gpu.ts';
import { defaultLora } from './longlora.ts';
import { floatBlocks, LlamaParams, type WeightSource } from './params.ts';
import { weightSource } from './session.ts';

// stories260K's embedding is 512 × 64: 128 KiB as f32 (trainable), read from an f32 file.
const CAP = 48 * 1024;

describe('streamed weight upload', () => {
  let rt: Runtime | null = null;
  afterAll(() => rt?.destroy(true));

  it('uploads the embedding block by block, never reading it whole', async () => {
    rt = await cappedRuntime({ maxStorageBufferBindingSize: CAP, maxBufferSize: CAP });
    const opened = await openModelPath(DEMO_DIR);
    const inner = weightSource(opened);
    const whole: string[] = [];
    const rowReads: number[] = [];
    const src: WeightSource = {
      has: inner.has,
      read: (name) => {
        whole.push(name);
        return inner.read(name);
      },
      readRows: async (name, row0, rows) => {
        const r = await inner.readRows!(name, row0, rows);
        if (name === 'model.embed_tokens.weight') rowReads.push(r.bytes.byteLength);
        return r;
      },
    };
    const params = await LlamaParams.load(rt, opened.config, defaultLora(), src, 1);
    expect(whole).not.toContain('model.embed_tokens.weight');
    expect(floatBlocks(params.embed).split).toBe(true);
    // One zero-row read for the shape, then one read per block, none over a block.
    const blocks = floatBlocks(params.embed).pieces().length;
    expect(blocks).toBeGreaterThanOrEqual(3);
    expect(rowReads.filter((n) => n > 0)).toHaveLength(blocks);
    expect(Math.max(...rowReads)).toBeLessThanOrEqual(CAP);
    const file = await inner.read('model.embed_tokens.weight');
    const onGpu = await rt.read(floatBlocks(params.embed));
    expect(onGpu).toEqual(bytesToF32(file.bytes, file.dtype));
    params.destroy();
  });
});
