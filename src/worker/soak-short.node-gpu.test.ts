/**
 * The short soak (issue #12): 30 steps of the demo through the studio's engine (StudioEngine, the
 * same code the worker runs) with pauses at steps 10 (Resume pressed at once), 18 and 26, an
 * evaluation every 5, a checkpoint every 4 with retention (keep 2), on-demand evaluations while
 * paused and an export mid-run. At every sample the live GPU tensors and the bytes of each memory
 * category equal the first sample's, and the stored checkpoints stay at 2: nothing leaks across
 * pause/resume/eval/checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assetSource } from '../test/assets-node.ts';
import { freshRuntime } from '../test/gpu.ts';
import { studioDefaults } from '../train/settings.ts';
import { CheckpointStore } from '../train/checkpoint.ts';
import { FolderBlobStore } from '../train/store-node.ts';
import type { TrainingEvent } from './protocol.ts';
import { StudioEngine } from './studio-engine.ts';

const dir = mkdtempSync(join(tmpdir(), 'soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('short soak', () => {
  it(
    '30 steps with pause/resume, evaluations, checkpoints and an export leak no GPU tensor',
    { timeout: 300_000 },
    async () => {
      const rtP = freshRuntime();
      const rt = await rtP;
      const store = new CheckpointStore(new FolderBlobStore(dir));
      const engine = new StudioEngine(() => rtP, store);
      const names = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
      const summary = await engine.loadModel(names.map(assetSource), () => {});
      await engine.loadData(assetSource('tinystories-197k.txt'), 64, () => {});
      const settings = {
        ...studioDefaults(summary),
        context: 64,
        steps: 30,
        warmup: 1,
        evalEvery: 5,
        checkpointEvery: 4,
        checkpointMinutes: 0,
        keepCheckpoints: 2,
      };
      let step = 0;
      let state = '';
      // The GPU panel's list: the kernel of every family, sent once before the first step.
      const kernels: { at: number; families: string[] }[] = [];
      const waiters: (() => void)[] = [];
      const onEvents = (es: TrainingEvent[]) => {
        for (const e of es) {
          if (e.type === 'step') step = e.step;
          if (e.type === 'state') state = e.state;
          if (e.type === 'kernels')
            kernels.push({ at: step, families: [...new Set(e.kernels.map((k) => k.family))] });
          if (e.type === 'error') throw new Error(e.error.message);
        }
        for (const w of waiters.splice(0)) w();
      };
      const until = async (ok: () => boolean) => {
        while (!ok()) await new Promise<void>((r) => waiters.push(r));
      };
      await engine.start(settings, onEvents);
      const samples: { step: number; live: number; bytes: string; stored: number }[] = [];
      // At step 10 Resume is pressed the moment the page says Paused (while the pause's checkpoint is
      // still being written): the run must continue, not ignore it.
      await until(() => step >= 10);
      engine.pause();
      await until(() => state === 'paused');
      engine.resume();
      for (const at of [18, 26]) {
        await until(() => step >= at);
        engine.pause();
        await until(() => state === 'paused');
        // An on-demand evaluation while paused (it also waits for the pause's checkpoint).
        await engine.evaluate(64);
        samples.push({
          step,
          live: rt.liveTensors,
          bytes: JSON.stringify(rt.memory.snapshot().current),
          stored: (await store.list()).length,
        });
        engine.resume();
        await until(() => state === 'running');
      }
      // An export mid-run waits for the current step, and the run goes on.
      const zip = await engine.exportAdapter({ merged: false });
      expect(zip.bytes.byteLength).toBeGreaterThan(1000);
      await until(() => state === 'done');
      await engine.evaluate(64); // waits for the final evaluation and checkpoint
      samples.push({
        step,
        live: rt.liveTensors,
        bytes: JSON.stringify(rt.memory.snapshot().current),
        stored: (await store.list()).length,
      });
      console.log(JSON.stringify(samples));
      expect(step).toBe(30);
      expect(kernels).toEqual([
        {
          at: 0,
          families: [
            'matmul',
            'attention',
            'cross_entropy',
            'cross_entropy.backward',
            'lora',
            'rmsnorm',
            'gradnorm',
          ],
        },
      ]);
      const [first, ...rest] = samples;
      for (const s of rest) {
        expect(s.live, `live tensors at step ${s.step}`).toBe(first!.live);
        expect(s.bytes, `GPU bytes per category at step ${s.step}`).toBe(first!.bytes);
        expect(s.stored, `stored checkpoints at step ${s.step}`).toBe(2);
      }
      expect(first!.stored).toBe(2);
    },
  );
});
