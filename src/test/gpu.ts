/**
 * GPU test helpers shared by the Node (Dawn) and browser (Chromium) projects. Each project's setup
 * file registers how to make a Runtime; a test that gets no adapter fails, it never skips.
 */
import type { Runtime } from '../engine/runtime.ts';

declare global {
  var __longloraTestHost: { name: 'node' | 'browser'; create: () => Promise<Runtime> } | undefined;
}

let shared: Promise<Runtime> | null = null;

/** The host these GPU tests run in. */
export function hostName(): string {
  const h = globalThis.__longloraTestHost;
  if (!h)
    throw new Error(
      'GPU test host not registered: run through the gpu-node or gpu-browser project',
    );
  return h.name;
}

/** One Runtime per test file (created on first use). Rejects — failing the test — when no adapter exists. */
export function testRuntime(): Promise<Runtime> {
  const h = globalThis.__longloraTestHost;
  if (!h) return Promise.reject(new Error('GPU test host not registered'));
  shared ??= h.create();
  return shared;
}

/** A fresh Runtime on its own device (for tests that destroy or lose a device). */
export function freshRuntime(): Promise<Runtime> {
  const h = globalThis.__longloraTestHost;
  if (!h) return Promise.reject(new Error('GPU test host not registered'));
  return h.create();
}
