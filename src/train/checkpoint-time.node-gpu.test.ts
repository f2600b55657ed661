/**
 * Time-based checkpoints and retention in the trainer, on the GPU with the real folder store: a
 * checkpoint every M minutes of training (a clock the test advances 25 s per step), one at the next
 * step boundary when asked (the page being hidden), and only the newest K kept.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LlamaModel } from '../model/llama.ts';
import { LlamaParams } from '../model/params.ts';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { randomDataset, refWeightSource, shapeOfRef } from '../test/parity.ts';
import type { LinearName } from '../io/config.ts';
import { checkpointBytes } from '../worker/session.ts';
import { CheckpointStore } from './checkpoint.ts';
import { FolderBlobStore } from './store-node.ts';
import { Trainer } from './trainer.ts';
import { cliDefaults, loraOf, type RunSettings } from './settings.ts';

const CONTEXT = 16;
const ref: RefConfig = {
  vocab: 23,
  hidden: 16,
  intermediate: 24,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  headDim: 8,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 1,
  tied: true,
  pattern: 's2',
  group: CONTEXT / 4,
  loraTargets: ['q_proj', 'v_proj'],
  rank: 2,
  alpha: 4,
};

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Trains 7 steps with a clock that moves 25 s per step; `atStep` runs after each step's event. */
async function train(
  extra: Partial<RunSettings>,
  atStep: (t: Trainer, step: number) => void = () => {},
): Promise<{ written: number[]; kept: number[]; bytes: number[] }> {
  const rt = await testRuntime();
  const dir = await mkdtemp(join(tmpdir(), 'ckpt-time-'));
  dirs.push(dir);
  const store = new CheckpointStore(new FolderBlobStore(dir));
  const shape = shapeOfRef(ref);
  const settings: RunSettings = {
    ...cliDefaults(CONTEXT),
    ropeFactor: Math.max(1, Math.ceil(CONTEXT / 64)),
    rank: 2,
    alpha: 4,
    targets: ['q_proj', 'v_proj'],
    trainable: [],
    lr: 1e-2,
    warmup: 1,
    steps: 7,
    checkpointEvery: 0,
    evalEvery: 0,
    seed: 5,
    ...extra,
  };
  const params = await LlamaParams.load(
    rt,
    shape,
    loraOf(settings),
    refWeightSource(shape, randomRefModel(ref, 3), 'F32'),
    1,
    undefined,
    { optimizerState: true },
  );
  const model = new LlamaModel(rt, params);
  const data = randomDataset({
    vocab: ref.vocab,
    context: CONTEXT,
    seed: 2,
    blocks: 4,
    train: 4,
    heldOut: false,
  });
  let clock = 0;
  const written: number[] = [];
  const bytes: number[] = [];
  let trainer: Trainer | null = null;
  trainer = new Trainer(rt, model, data, settings, {
    store,
    modelFingerprint: 'tiny',
    modelName: 'tiny',
    now: () => clock,
    onEvent: (e) => {
      if (e.type === 'step') {
        clock += 25_000;
        atStep(trainer!, e.record.step);
      }
      if (e.type === 'checkpoint') {
        written.push(e.step);
        bytes.push(e.bytes);
      }
    },
  });
  expect(await trainer.run()).toBe('done');
  const kept = (await store.list()).map((c) => c.step).sort((a, b) => a - b);
  trainer.destroy();
  model.destroy();
  params.destroy();
  expect(rt.liveTensors).toBe(0);
  return { written, kept, bytes };
}

describe('time-based checkpoints', () => {
  it('writes one whenever a minute of training has passed since the last, at a step boundary', async () => {
    // 25 s a step: 75 s at step 3, 150 s at step 6 (75 s after the last), then the final one.
    const { written, kept } = await train({ checkpointMinutes: 1 });
    expect(written).toEqual([3, 6, 7]);
    expect(kept).toEqual([3, 6, 7]);
  });

  it('whichever comes first: every 5 steps or every minute', async () => {
    const { written } = await train({ checkpointMinutes: 1, checkpointEvery: 5 });
    expect(written).toEqual([3, 5, 7]);
  });

  it('writes one at the next step boundary when asked (the page is hidden), and keeps the newest K', async () => {
    const { written, kept } = await train(
      { checkpointMinutes: 0, keepCheckpoints: 2 },
      (t, step) => {
        if (step === 2 || step === 4) t.requestCheckpoint();
      },
    );
    expect(written).toEqual([2, 4, 7]);
    expect(kept).toEqual([4, 7]);
  });

  it('the size the studio shows before the start is what a checkpoint takes (within its manifest)', async () => {
    const { bytes } = await train({ checkpointEvery: 3 });
    const lora = {
      rank: 2,
      targets: ['q_proj', 'v_proj'] as LinearName[],
      trainEmbed: false,
      trainNorm: false,
    };
    const planned = checkpointBytes(
      {
        vocabSize: 23,
        hidden: 16,
        layers: 1,
        heads: 2,
        kvHeads: 1,
        headDim: 8,
        intermediate: 24,
        qkNorm: false,
      },
      lora,
    );
    // LoRA A [2, 16] and B [16 or 8, 2] for q and v, each with two moments, f32.
    const tensors = 3 * 4 * (2 * (16 + 16) + 2 * (8 + 16));
    expect(planned - 16 * 1024).toBe(tensors);
    for (const b of bytes) expect(Math.abs(b - planned)).toBeLessThan(16 * 1024);
  });
});
