/**
 * Export of a committed checkpoint from a second engine (as a second tab of the studio would) while
 * the first one trains the run: the adapter .zip holds exactly the stored LoRA matrices, the export
 * takes no lock and does not disturb the training run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { readAdapter } from '../io/peft.ts';
import { loraName } from '../io/block.ts';
import { studioDefaults } from '../train/settings.ts';
import { assetSource } from '../test/assets-node.ts';
import { freshRuntime } from '../test/gpu.ts';
import { CheckpointStore } from '../train/checkpoint.ts';
import { FolderBlobStore } from '../train/store-node.ts';
import type { TrainingEvent } from './protocol.ts';
import { StudioEngine } from './studio-engine.ts';

const dir = mkdtempSync(join(tmpdir(), 'export-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

describe('exportCheckpoint', () => {
  it(
    "a second engine exports a committed checkpoint's adapter while the first trains the run",
    { timeout: 1_200_000 },
    async () => {
      const rtP = freshRuntime();
      const first = new StudioEngine(() => rtP, new CheckpointStore(new FolderBlobStore(dir)));
      const summary = await first.loadModel(MODEL.map(assetSource), () => {});
      await first.loadData(assetSource('tinystories-197k.txt'), 64, () => {});
      let step = 0;
      let state = '';
      const committed: string[] = [];
      const waiters: (() => void)[] = [];
      const onEvents = (es: TrainingEvent[]) => {
        for (const e of es) {
          if (e.type === 'step') step = e.step;
          if (e.type === 'state') state = e.state;
          if (e.type === 'checkpoint') committed.push(e.checkpoint.id);
          if (e.type === 'error') throw new Error(e.error.message);
        }
        for (const w of waiters.splice(0)) w();
      };
      const until = async (ok: () => boolean) => {
        while (!ok()) await new Promise<void>((r) => waiters.push(r));
      };
      await first.start(
        {
          ...studioDefaults(summary),
          context: 64,
          steps: 200,
          warmup: 1,
          evalEvery: 0,
          checkpointEvery: 2,
          checkpointMinutes: 0,
          keepCheckpoints: 0,
        },
        onEvents,
      );
      await until(() => committed.length > 0);

      // The second engine: its own runtime (device), the same storage.
      const rt2 = freshRuntime();
      const second = new StudioEngine(() => rt2, new CheckpointStore(new FolderBlobStore(dir)));
      await second.loadModel(MODEL.map(assetSource), () => {});
      const id = committed[0]!;
      const zip = await second.exportCheckpoint(id, { merged: false });
      expect(zip.name).toMatch(/-longlora-64-step2\.zip$/);
      const files = unzipSync(zip.bytes);
      const adapter = await readAdapter(files);
      const stored = await second.store.load(id);
      expect(adapter.lora.length).toBe(summary.layers * adapter.targets.length);
      for (const l of adapter.lora) {
        const name = (w: 'A' | 'B') =>
          loraName(l.layer, l.module as Parameters<typeof loraName>[1], w);
        expect(l.A).toEqual(stored.tensors.get(name('A')));
        expect(l.B).toEqual(stored.tensors.get(name('B')));
      }
      // B starts at zero: two steps of training moved it.
      expect(adapter.lora.some((l) => l.B.some((x) => x !== 0))).toBe(true);

      // The first engine's run went on meanwhile and is still training.
      expect(state).toBe('running');
      const at = step;
      await until(() => step > at);
      await first.stop();
      expect(state).toBe('stopped');
      (await rt2).destroy();
    },
  );
});
