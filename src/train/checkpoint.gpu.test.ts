import { describe, expect, it } from 'vitest';
import { LlamaModel } from '../model/llama.ts';
import { LlamaParams } from '../model/params.ts';
import { randomDataset, refWeightSource, shapeOfRef } from '../test/parity.ts';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import { testBlobStore, testRuntime } from '../test/gpu.ts';
import { CheckpointStore, type BlobStore } from './checkpoint.ts';
import type { Dataset } from './data.ts';
import { Trainer } from './trainer.ts';
import { cliDefaults, loraOf, type RunSettings } from './settings.ts';

const refCfg: RefConfig = {
  vocab: 29,
  hidden: 16,
  intermediate: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 4,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 2,
  tied: true,
  pattern: 's2',
  group: 8,
  loraTargets: ['q_proj', 'v_proj'],
  rank: 2,
  alpha: 4,
};
const CONTEXT = 16;

function dataset(): Dataset {
  const { vocab } = refCfg;
  return randomDataset({ vocab, context: CONTEXT, seed: 11, blocks: 8, train: 6, heldOut: true });
}

function settings(steps: number): RunSettings {
  return {
    ...cliDefaults(CONTEXT),
    groupSize: 8,
    ropeFactor: Math.ceil(CONTEXT / 8),
    rank: 2,
    alpha: 4,
    targets: ['q_proj', 'v_proj'],
    trainable: ['embed', 'norm'],
    lr: 1e-2,
    warmup: 1,
    steps,
    gradAccum: 2,
    checkpointEvery: 0,
    seed: 5,
  };
}

async function makeTrainer(store: CheckpointStore | undefined, steps: number, fp = 'model-a') {
  const rt = await testRuntime();
  const w = randomRefModel(refCfg, 3);
  const shape = shapeOfRef(refCfg);
  const s = settings(steps);
  const params = await LlamaParams.load(rt, shape, loraOf(s), refWeightSource(shape, w, 'BF16'), 9);
  const model = new LlamaModel(rt, params);
  const trainer = new Trainer(rt, model, dataset(), s, {
    store,
    modelFingerprint: fp,
    modelName: 'tiny',
    runId: 'r1',
  });
  const dispose = () => {
    trainer.destroy();
    model.destroy();
    params.destroy();
  };
  return { rt, trainer, params, dispose };
}

/** Fails the n-th chunk write, after the earlier chunks were written (a crash or full disk mid-write). */
function failingAfter(inner: BlobStore, n: number): BlobStore {
  return {
    ...inner,
    putChunks: async (id, chunks) => {
      await inner.putChunks(id, chunks.slice(0, n));
      const e = new Error('disk full (injected)') as Error & { code: string };
      e.code = 'ENOSPC';
      throw e;
    },
    commitManifest: (id, m) => inner.commitManifest(id, m),
    manifests: () => inner.manifests(),
    getManifest: (id) => inner.getManifest(id),
    getChunk: (id, k) => inner.getChunk(id, k),
    remove: (id) => inner.remove(id),
  };
}

describe('checkpoints', () => {
  it('resume continues exactly: stop at step k, resume, same loss at 2k as an uninterrupted run', async () => {
    const k = 3;
    const a = await makeTrainer(undefined, 2 * k);
    await a.trainer.run();
    const uninterrupted = a.trainer.steps.map((s) => s.loss);
    a.dispose();

    const store = new CheckpointStore(await testBlobStore('resume'));
    const b = await makeTrainer(store, 2 * k);
    b.trainer.opts.onEvent = (e) => {
      if (e.type === 'step' && e.record.step === k) b.trainer.stop();
    };
    expect(await b.trainer.run()).toBe('stopped');
    b.dispose();
    const list = await store.list();
    expect(list.map((c) => c.step)).toEqual([k]);

    const c = await makeTrainer(store, 2 * k);
    const { manifest, tensors } = await store.load(list[0]!.id, 'model-a');
    c.trainer.restore(manifest, tensors);
    expect(await c.trainer.run()).toBe('done');
    const resumed = c.trainer.steps.map((s) => s.loss);
    c.dispose();
    expect(resumed).toHaveLength(2 * k);
    for (let i = 0; i < 2 * k; i++) {
      expect(Math.abs(resumed[i]! - uninterrupted[i]!) / uninterrupted[i]!).toBeLessThanOrEqual(
        1e-5,
      );
    }
    // The run actually learned something between k and 2k (not a frozen replay).
    expect(resumed[2 * k - 1]).not.toBe(resumed[k - 1]);
  });

  it('a write that fails midway leaves the previous checkpoint listed and loadable', async () => {
    const blobs = await testBlobStore('atomic');
    const store = new CheckpointStore(blobs);
    const t = await makeTrainer(store, 4);
    t.trainer.opts.onEvent = (e) => {
      if (e.type === 'step' && e.record.step === 2) t.trainer.stop();
    };
    await t.trainer.run();
    const before = await store.list();
    expect(before).toHaveLength(1);
    const good = await store.load(before[0]!.id);

    const broken = new CheckpointStore(failingAfter(blobs, 3));
    const t2 = await makeTrainer(broken, 4);
    t2.trainer.restore(good.manifest, good.tensors);
    t2.trainer.step = 3; // a later checkpoint id
    await expect(t2.trainer.checkpoint()).rejects.toThrow(/Storage is full/);
    t.dispose();
    t2.dispose();

    const after = await store.list();
    expect(after.map((c) => c.id)).toEqual(before.map((c) => c.id));
    const again = await store.load(before[0]!.id);
    for (const [name, v] of good.tensors) expect(again.tensors.get(name)).toEqual(v);
  });

  it('refuses an unknown format version and another base model', async () => {
    const blobs = await testBlobStore('refuse');
    const store = new CheckpointStore(blobs);
    const t = await makeTrainer(store, 1);
    await t.trainer.run();
    t.dispose();
    const [ck] = await store.list();
    await expect(store.load(ck!.id, 'model-b')).rejects.toThrow(/another base model/);

    const manifest = JSON.parse((await blobs.getManifest(ck!.id))!) as { version: number };
    manifest.version = 99;
    await blobs.commitManifest('future', JSON.stringify({ ...manifest, id: 'future' }));
    await expect(store.load('future')).rejects.toThrow(/version 99 is not supported/);
  });
});
