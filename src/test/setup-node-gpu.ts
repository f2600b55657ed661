import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeRuntime } from '../engine/node-host.ts';
import { fileTuneStore } from '../engine/tune-store-node.ts';
import { FolderBlobStore } from '../train/store-node.ts';

// The CLI keeps kernel-tuning choices in the user's cache folder: tests use a folder of their own,
// one per test run (each test file runs in its own process, a child of the run's), so that a shape
// is tuned once per run rather than once per file.
if (process.env.LONGLORA_CACHE_DIR === undefined) {
  const dir = join(tmpdir(), `longlora-cache-run-${process.ppid}`);
  await mkdir(dir, { recursive: true });
  process.env.LONGLORA_CACHE_DIR = dir;
}

globalThis.__longloraTestHost = {
  name: 'node',
  create: (caps) => createNodeRuntime(undefined, caps),
  blobStore: async (name) =>
    new FolderBlobStore(await mkdtemp(join(tmpdir(), `longlora-${name}-`))),
  tuneStore: async (name) =>
    fileTuneStore(join(await mkdtemp(join(tmpdir(), `longlora-tune-${name}-`)), 'autotune.json')),
  demoAsset: async (name) =>
    new Uint8Array(await readFile(new URL(`../../public/demo/${name}`, import.meta.url))),
};
