/**
 * Training a model whose embedding (tied to the output layer, trainable) is row-blocked: AdamW and
 * the grad norm over the blocks give the unsplit run's parameters, checkpoints save and restore
 * every block, and the adapter export reads the embedding across blocks.
 */
import { describe, expect, it } from 'vitest';
import type { OutputMatmuls } from '../engine/kernels/cross_entropy.ts';
import type { Runtime } from '../engine/runtime.ts';
import { LlamaModel } from '../model/llama.ts';
import { floatBlocks, LlamaParams } from '../model/params.ts';
import { collectAdapter } from '../model/session.ts';
import { randomRefModel } from '../reference/llama.ts';
import { testBlobStore, testRuntime } from '../test/gpu.ts';
import {
  BLOCKED_EMBED_CONFIG as refCfg,
  BLOCKED_EMBED_CONTEXT as CONTEXT,
  blockedEmbedSettings,
  cappedRuntimes,
  randomDataset,
  refWeightSource,
  shapeOfRef,
} from '../test/parity.ts';
import { CheckpointStore } from './checkpoint.ts';
import type { Dataset } from './data.ts';
import { Trainer } from './trainer.ts';
import { loraOf, type RunSettings } from './settings.ts';

// 16 KiB: the [512, 32] f32 embedding (64 KiB) and its gradient and moments split into 4 blocks,
// while the cross-entropy chunk still holds all 8 tokens (as on an uncapped runtime), so the split
// and unsplit runs add the same numbers in the same order (the unsplit one with the cross-entropy
// kernels the row-blocked output layer uses, not the linear launchers a whole one gets).
const CAPS = { maxStorageBufferBindingSize: 16384, maxBufferSize: 16384 };

function dataset(): Dataset {
  const { vocab } = refCfg;
  return randomDataset({ vocab, context: CONTEXT, seed: 11, blocks: 6, train: 4, heldOut: false });
}

function settings(steps: number, clip: number): RunSettings {
  return blockedEmbedSettings(steps, clip);
}

async function makeTrainer(
  rt: Runtime,
  steps: number,
  clip: number,
  store?: CheckpointStore,
  outputMatmuls?: OutputMatmuls,
) {
  const shape = shapeOfRef(refCfg);
  const s = settings(steps, clip);
  const src = refWeightSource(shape, randomRefModel(refCfg, 3), 'BF16');
  const params = await LlamaParams.load(rt, shape, loraOf(s), src, 9);
  const model = new LlamaModel(rt, params, { checkpointing: true, outputMatmuls });
  const trainer = new Trainer(rt, model, dataset(), s, {
    store,
    modelFingerprint: 'split',
    modelName: 'tiny',
    runId: 'split',
  });
  const state = async () => {
    const out = new Map<string, Float32Array>();
    for (const t of params.trainables) {
      out.set(t.name, await rt.read(t.param));
      out.set(`${t.name}#m`, await rt.read(t.m));
      out.set(`${t.name}#v`, await rt.read(t.v));
    }
    return out;
  };
  const dispose = () => {
    trainer.destroy();
    model.destroy();
    params.destroy();
  };
  return { trainer, params, state, dispose };
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('training with a row-blocked embedding', () => {
  const runtimeFor = cappedRuntimes();
  const small = () => runtimeFor(CAPS);

  for (const clip of [0, 1]) {
    it(`two AdamW steps over split buffers give the unsplit run's parameters and moments (clip ${clip})`, async () => {
      const a = await makeTrainer(await small(), 2, clip);
      expect(floatBlocks(a.params.embed).blocks.length).toBe(4);
      expect(a.params.gradOf(a.params.trainedEmbed)!.blocks.length).toBe(4);
      await a.trainer.run();
      const got = await a.state();
      const gotNorms = a.trainer.steps.map((s) => s.gradNorm);
      a.dispose();
      const b = await makeTrainer(await testRuntime(), 2, clip, undefined, 'own');
      expect(floatBlocks(b.params.embed).blocks.length).toBe(1);
      await b.trainer.run();
      const want = await b.state();
      const wantNorms = b.trainer.steps.map((s) => s.gradNorm);
      b.dispose();
      expect([...got.keys()]).toEqual([...want.keys()]);
      const off: string[] = [];
      for (const [name, w] of want) {
        const g = got.get(name)!;
        let worst = 0;
        for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i]! - w[i]!));
        if (clip === 0 ? bits(g).some((x, i) => x !== bits(w)[i]) : worst > 1e-6)
          off.push(`${name}: max |Δ| ${worst}`);
      }
      expect(off).toEqual([]);
      // The norm adds the same squares grouped by block: equal to f32 rounding.
      gotNorms.forEach((n, i) =>
        expect(Math.abs(n - wantNorms[i]!)).toBeLessThan(1e-6 * wantNorms[i]!),
      );
      expect((await small()).liveTensors).toBe(0);
    });
  }

  it('a checkpoint saves and restores every block; the resumed run ends where an uninterrupted one does; the adapter export reads across blocks', async () => {
    const rt = await small();
    const a = await makeTrainer(rt, 2, 0);
    await a.trainer.run();
    const uninterrupted = await a.state();
    const exported = await collectAdapter(a.params);
    a.dispose();
    const embedName = 'model.embed_tokens.weight';
    const embed = exported.trained.find((t) => t.name === embedName)!;
    expect(embed.shape).toEqual([refCfg.vocab, refCfg.hidden]);
    expect(bits(embed.data)).toEqual(bits(uninterrupted.get(embedName)!));

    const store = new CheckpointStore(await testBlobStore('split'));
    const b = await makeTrainer(rt, 2, 0, store);
    b.trainer.opts.onEvent = (e) => {
      if (e.type === 'step' && e.record.step === 1) b.trainer.stop();
    };
    expect(await b.trainer.run()).toBe('stopped');
    const atStop = await b.state();
    b.dispose();
    const [ck] = await store.list();
    const { manifest, tensors } = await store.load(ck!.id, 'split');
    for (const [name, v] of atStop) expect(bits(tensors.get(name)!), name).toEqual(bits(v));

    const c = await makeTrainer(rt, 2, 0, store);
    c.trainer.restore(manifest, tensors);
    const restored = await c.state();
    for (const [name, v] of atStop) expect(bits(restored.get(name)!), name).toEqual(bits(v));
    expect(await c.trainer.run()).toBe('done');
    const resumed = await c.state();
    c.dispose();
    for (const [name, v] of uninterrupted) expect(bits(resumed.get(name)!), name).toEqual(bits(v));
    expect(rt.liveTensors).toBe(0);
  });
});
