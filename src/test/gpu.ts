/**
 * GPU test helpers shared by the Node (Dawn) and browser (Chromium) projects. Each project's setup
 * file registers how to make a Runtime and a checkpoint BlobStore (a folder in Node, IndexedDB in
 * the browser); a test that gets no adapter fails, it never skips.
 */
import type { RuntimeCaps } from '../engine/device.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { TuneStore } from '../engine/kernels/autotune.ts';
import type { BlobStore } from '../train/checkpoint.ts';

export interface TestHost {
  name: 'node' | 'browser';
  /** A Runtime on a new device; `caps` lowers its buffer limits (RuntimeCaps). */
  create: (caps?: RuntimeCaps) => Promise<Runtime>;
  /** A fresh, empty checkpoint BlobStore unique to `name`. */
  blobStore: (name: string) => Promise<BlobStore>;
  /** A fresh, empty kernel-tuning store unique to `name` (a file in Node, IndexedDB in the browser). */
  tuneStore: (name: string) => Promise<TuneStore>;
  /** The bytes of a file the repository ships in public/demo/ (stories260K, its tokenizer, the text). */
  demoAsset: (name: string) => Promise<Uint8Array>;
}

declare global {
  var __longloraTestHost: TestHost | undefined;
}

let shared: Promise<Runtime> | null = null;

function host(): TestHost {
  const h = globalThis.__longloraTestHost;
  if (!h)
    throw new Error(
      'GPU test host not registered: run through the gpu-node or gpu-browser project',
    );
  return h;
}

/** The host these GPU tests run in. */
export function hostName(): string {
  return host().name;
}

/** One Runtime per test file (created on first use). Rejects — failing the test — when no adapter exists. */
export function testRuntime(): Promise<Runtime> {
  shared ??= host().create();
  return shared;
}

/** A fresh Runtime on its own device (for tests that destroy or lose a device). */
export function freshRuntime(): Promise<Runtime> {
  return host().create();
}

/**
 * A fresh Runtime on its own device whose buffer and binding limits are lowered to `caps` (to test
 * row-blocked tensors and the size guards at tiny sizes). Destroy it with rt.destroy(true).
 */
export function cappedRuntime(caps: RuntimeCaps): Promise<Runtime> {
  return host().create(caps);
}

/** A fresh checkpoint store in this host's real storage. */
export function testBlobStore(name: string): Promise<BlobStore> {
  return host().blobStore(name);
}

/** The bytes of a demo asset (public/demo/NAME): read from disk in Node, fetched by the page in Chromium. */
export function demoAsset(name: string): Promise<Uint8Array> {
  return host().demoAsset(name);
}

/** A fresh kernel-tuning store in this host's real storage (a file in Node, IndexedDB in Chromium). */
export function testTuneStore(name: string): Promise<TuneStore> {
  return host().tuneStore(name);
}
