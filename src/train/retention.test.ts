/** Checkpoint retention on the real folder store: the newest K of a run stay, other runs are untouched. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore, type CheckpointManifest } from './checkpoint.ts';
import { FolderBlobStore } from './store-node.ts';
import { defaultTrainSettings } from './types.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function manifest(
  runId: string,
  step: number,
): Omit<CheckpointManifest, 'tensors' | 'bytes' | 'version'> {
  return {
    id: `${runId}-step${String(step).padStart(6, '0')}`,
    runId,
    step,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, step)).toISOString(),
    modelFingerprint: 'f',
    modelName: 'm',
    settings: defaultTrainSettings(64, { maxPositions: 512, ropeScaling: null }),
    data: { epoch: 0, index: 0, rngState: 1, order: [0] },
    metrics: { steps: [], evals: [] },
  };
}

describe('checkpoint retention', () => {
  it('keeps the newest K of a run once a newer one is committed, and leaves other runs alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'retention-'));
    dirs.push(dir);
    const store = new CheckpointStore(new FolderBlobStore(dir));
    const tensors = new Map([['w', new Float32Array(1000).fill(1)]]);
    await store.save(manifest('other', 1), tensors, { keep: 3 });
    for (let step = 2; step <= 12; step += 2)
      await store.save(manifest('run', step), tensors, { keep: 3 });
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
    // keep 0 keeps everything.
    await store.save(manifest('run', 14), tensors);
    expect((await store.list()).filter((c) => c.runId === 'run')).toHaveLength(4);
    expect(await store.prune('run', 1)).toEqual([
      'run-step000012',
      'run-step000010',
      'run-step000008',
    ]);
  });
});
