/**
 * Checkpoint retention on the real folder store: the newest K of a run stay, other runs are
 * untouched; a long run's step history is stored packed, so a checkpoint's size barely grows with it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore, METRICS_TENSOR, type CheckpointManifest } from './checkpoint.ts';
import { testManifest } from '../test/manifest.ts';
import { FolderBlobStore } from './store-node.ts';
import { GPU_MEMORY_FIELDS, RECORD_WIDTH, STEP_FIELDS, writeRecord } from './step-history.ts';
import type { StepMemory, StepRecord } from './types.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('checkpoint retention', () => {
  it('keeps the newest K of a run once a newer one is committed, and leaves other runs alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'retention-'));
    dirs.push(dir);
    const store = new CheckpointStore(new FolderBlobStore(dir));
    const tensors = new Map([['w', new Float32Array(1000).fill(1)]]);
    await store.save(testManifest('other', 1), tensors, { keep: 3 });
    for (let step = 2; step <= 12; step += 2)
      await store.save(testManifest('run', step), tensors, { keep: 3 });
    const list = await store.list();
    expect(list.filter((c) => c.runId === 'run').map((c) => c.step)).toEqual([12, 10, 8]);
    expect(list.filter((c) => c.runId === 'other').map((c) => c.step)).toEqual([1]);
    // Nothing of the deleted checkpoints is left on disk (4 checkpoints: manifest + chunk folder).
    const names = await readdir(dir);
    expect(
      names.filter((n) => n.includes('run-step000002') || n.includes('run-step000004')),
    ).toEqual([]);
    // The kept ones still load.
    expect((await store.load('run-step000008')).tensors.get('w')![999]).toBe(1);
    // Each lists the steps its run was set to take; one without readable settings still lists.
    expect(list.find((c) => c.runId === 'other')!.totalSteps).toBe(
      testManifest('other', 1).settings.steps,
    );
    const odd = Object.assign(Object.create(store.blobs) as FolderBlobStore, {
      manifests: async () => [JSON.stringify({ id: 'x', runId: 'x', step: 7, version: 99 })],
    });
    expect((await new CheckpointStore(odd).list()).map((c) => [c.id, c.totalSteps])).toEqual([
      ['x', null],
    ]);
    // keep 0 keeps everything.
    await store.save(testManifest('run', 14), tensors);
    expect((await store.list()).filter((c) => c.runId === 'run')).toHaveLength(4);
    expect(await store.prune('run', 1)).toEqual([
      'run-step000012',
      'run-step000010',
      'run-step000008',
    ]);
  });
});

describe("a run's step history in its checkpoints", () => {
  const history = (n: number): StepRecord[] =>
    Array.from({ length: n }, (_, i) => ({
      step: i + 1,
      loss: 5 - Math.log1p(i) / 3,
      smoothLoss: 5.1 - Math.log1p(i) / 3.1,
      lr: 2e-3 * Math.min(1, (i + 1) / 5),
      gradNorm: 1 + 1 / (i + 1),
      tokensPerSec: 120 + (i % 7) * 0.37,
      elapsedMs: 1234.5678 * (i + 1),
      memory: {
        current: {
          weights: 1_234_567,
          lora: 40_960 + i,
          gradients: 81_920,
          optimizer: 163_840,
          activations: 5_400_000 + 16 * i,
          workspace: 3_600_000,
        },
        peakTotal: 10_700_000 + 64 * i,
        host: { checkpoints: 2 ** 20 * (i % 3), optimizer: 4096 },
      },
    }));

  it('comes back as it was (older records to float32, the newest exactly), the tensors unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    dirs.push(dir);
    const store = new CheckpointStore(new FolderBlobStore(dir));
    const steps = history(300);
    const evals = [{ step: 25, loss: 4.1, ppl: Math.exp(4.1) }];
    const w = new Float32Array(1000).map((_, i) => i / 7);
    await store.save(
      { ...testManifest('run', 300), metrics: { steps, evals } },
      new Map([['w', w]]),
    );
    const { manifest: m, tensors } = await store.load('run-step000300');
    expect(m.metrics.steps).toHaveLength(300);
    expect(m.metrics.steps.at(-1)).toEqual(steps.at(-1));
    m.metrics.steps.slice(0, -1).forEach((r, i) => {
      const { memory, ...scalars } = steps[i]!;
      for (const [k, v] of Object.entries(scalars))
        expect(r[k as keyof StepRecord], `${k} of step ${i + 1}`).toBe(Math.fround(v));
      // The memory measured at each step comes back too (float32, as the chart draws it).
      expect(r.memory!.peakTotal).toBe(Math.fround(memory!.peakTotal));
      for (const [k, v] of Object.entries(memory!.current))
        expect(r.memory!.current[k as keyof StepMemory['current']], `${k} of step ${i + 1}`).toBe(
          Math.fround(v),
        );
      expect(r.memory!.host).toEqual(memory!.host);
    });
    expect(m.metrics.evals).toEqual(evals);
    expect(m.metrics.packedSteps).toBeUndefined();
    expect([...tensors.keys()]).toEqual(['w']);
    expect(m.tensors.map((t) => t.name)).toEqual(['w']);
    expect(tensors.get('w')).toEqual(w);
  });

  it('costs 64 bytes a step (float32 rows: 7 values, 7 of GPU and 2 of host memory), not its JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    dirs.push(dir);
    const store = new CheckpointStore(new FolderBlobStore(dir));
    const w = new Map([['w', new Float32Array(1000)]]);
    const size = async (n: number) =>
      store.save({ ...testManifest(`run${n}`, n), metrics: { steps: history(n), evals: [] } }, w);
    const [a, b] = [await size(20), await size(520)];
    expect(b - a).toBeGreaterThanOrEqual(500 * 64);
    expect(b - a).toBeLessThan(500 * 64 + 64);
    // The newest record stays in the manifest; the rest is the packed tensor.
    const { manifest: m } = await store.load('run520-step000520');
    expect(m.metrics.steps).toHaveLength(520);
    expect(METRICS_TENSOR.startsWith('#')).toBe(true);
  });

  it('a checkpoint whose history data is gone is refused, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    dirs.push(dir);
    const blobs = new FolderBlobStore(dir);
    await new CheckpointStore(blobs).save(
      { ...testManifest('run', 5), metrics: { steps: history(5), evals: [] } },
      new Map([['w', new Float32Array(4)]]),
    );
    const m = JSON.parse((await blobs.getManifest('run-step000005'))!) as CheckpointManifest;
    expect(m.metrics.packedSteps).toBe(4);
    // Storage that lost the history's chunk.
    const lossy = Object.assign(Object.create(blobs) as FolderBlobStore, {
      getChunk: (id: string, key: string) =>
        key.startsWith(METRICS_TENSOR) ? Promise.resolve(undefined) : blobs.getChunk(id, key),
    });
    await expect(new CheckpointStore(lossy).load('run-step000005')).rejects.toThrow(
      `Checkpoint run-step000005 is missing data for ${METRICS_TENSOR}.`,
    );
  });

  it('a checkpoint written before host memory was recorded loads its GPU memory, no host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    dirs.push(dir);
    const blobs = new FolderBlobStore(dir);
    const steps = history(5);
    await new CheckpointStore(blobs).save(
      { ...testManifest('run', 5), metrics: { steps, evals: [] } },
      new Map([['w', new Float32Array(4)]]),
    );
    // The same checkpoint as the layout before host memory stored it: 14 values a record.
    const m = JSON.parse((await blobs.getManifest('run-step000005'))!) as CheckpointManifest;
    const width = STEP_FIELDS.length + GPU_MEMORY_FIELDS.length;
    m.metrics.packedWidth = width;
    m.tensors.find((t) => t.name === METRICS_TENSOR)!.size = 4 * width;
    const old = new Float32Array(4 * width);
    const row = new Float32Array(RECORD_WIDTH);
    for (let i = 0; i < 4; i++) {
      writeRecord(steps[i]!, row, 0);
      old.set(row.subarray(0, width), i * width);
    }
    const older = Object.assign(Object.create(blobs) as FolderBlobStore, {
      getManifest: () => Promise.resolve(JSON.stringify(m)),
      getChunk: (id: string, key: string) =>
        key.startsWith(METRICS_TENSOR)
          ? Promise.resolve(new Uint8Array(old.buffer))
          : blobs.getChunk(id, key),
    });
    const { manifest } = await new CheckpointStore(older).load('run-step000005');
    const restored = manifest.metrics.steps;
    expect(restored.slice(0, 4).map((r) => r.memory?.host)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(restored[3]!.memory!.current.activations).toBe(steps[3]!.memory!.current.activations);
    expect(restored[4]!.memory).toEqual(steps[4]!.memory);
  });

  it('a checkpoint written before memory was recorded loads its steps without memory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    dirs.push(dir);
    const blobs = new FolderBlobStore(dir);
    const steps = history(5);
    await new CheckpointStore(blobs).save(
      { ...testManifest('run', 5), metrics: { steps, evals: [] } },
      new Map([['w', new Float32Array(4)]]),
    );
    // The same checkpoint as the previous layout stored it: 7 values a record, no packedWidth.
    const m = JSON.parse((await blobs.getManifest('run-step000005'))!) as CheckpointManifest;
    delete m.metrics.packedWidth;
    const entry = m.tensors.find((t) => t.name === METRICS_TENSOR)!;
    entry.size = 4 * 7;
    const old = new Float32Array(
      steps
        .slice(0, 4)
        .flatMap((r) => [
          r.step,
          r.loss,
          r.smoothLoss,
          r.lr,
          r.gradNorm,
          r.tokensPerSec,
          r.elapsedMs,
        ]),
    );
    const older = Object.assign(Object.create(blobs) as FolderBlobStore, {
      getManifest: () => Promise.resolve(JSON.stringify(m)),
      getChunk: (id: string, key: string) =>
        key.startsWith(METRICS_TENSOR)
          ? Promise.resolve(new Uint8Array(old.buffer))
          : blobs.getChunk(id, key),
    });
    const { manifest } = await new CheckpointStore(older).load('run-step000005');
    expect(manifest.metrics.steps).toHaveLength(5);
    expect(manifest.metrics.steps.slice(0, 4).map((r) => r.memory)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(manifest.metrics.steps[2]!.loss).toBe(Math.fround(steps[2]!.loss));
    expect(manifest.metrics.steps[4]!.memory).toEqual(steps[4]!.memory);
  });
});
