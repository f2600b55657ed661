/**
 * The soak benchmark's Chromium part (bench/soak.ts opens this page): the studio's engine
 * (StudioEngine, as the worker runs it) on this page's WebGPU adapter with checkpoints in the real
 * IndexedDB store (IdbBlobStore), through the shared loop of bench/soak-loop.ts. The JS heap is
 * performance.memory's used size after gc() (Chromium with --js-flags=--expose-gc and
 * --enable-precise-memory-info); storage is navigator.storage.estimate()'s usage.
 */
import { createBrowserRuntime } from '../src/engine/browser-host.ts';
import { bytesSource } from '../src/io/source.ts';
import { CheckpointStore } from '../src/train/checkpoint.ts';
import { IdbBlobStore } from '../src/train/store-idb.ts';
import { StudioEngine } from '../src/worker/studio-engine.ts';
import { runSoak, SOAK_DEFAULTS, type SoakResult } from './soak-loop.ts';

declare global {
  interface Window {
    __soak?: SoakResult;
    __soakPartial?: SoakResult;
    __soakError?: string;
  }
}

const pre = document.getElementById('log');
const log = (line: string) => {
  console.log(line);
  if (pre) pre.textContent += `${line}\n`;
};

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const steps = Number(q.get('steps') ?? 200);
  const context = Number(q.get('context') ?? SOAK_DEFAULTS.context);
  const rtP = createBrowserRuntime();
  const rt = await rtP;
  // Its own database, so nothing else in the profile is counted as the soak's.
  const engine = new StudioEngine(
    () => rtP,
    new CheckpointStore(new IdbBlobStore('longlora-soak', 'checkpoints')),
  );
  const gc = (globalThis as { gc?: () => void }).gc;
  const memory = (performance as { memory?: { usedJSHeapSize: number } }).memory;
  const heapNow = () => memory?.usedJSHeapSize ?? NaN;
  const demo = async (f: string) => {
    const r = await fetch(`/demo/${f}`);
    if (!r.ok) throw new Error(`${f}: HTTP ${r.status}`);
    return bytesSource(f, new Uint8Array(await r.arrayBuffer()));
  };
  const host = {
    rt,
    engine,
    forcedGc: !!gc,
    heap() {
      const before = heapNow();
      gc?.();
      return { before, after: heapNow() };
    },
    storage: async () => (await navigator.storage.estimate()).usage ?? NaN,
    log,
  };
  const a = rt.info;
  const name = `Chromium (${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')})`;
  window.__soak = await runSoak(
    host,
    demo,
    name,
    { ...SOAK_DEFAULTS, steps, context },
    // Kept without its samples: the page's heap is what the soak measures.
    (partial) => (window.__soakPartial = { ...partial, samples: [] }),
  );
}

main().catch((e: unknown) => {
  window.__soakError = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
});
