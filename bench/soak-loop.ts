/**
 * The soak benchmark's loop (issue #12), shared by its Node part (bench/soak.ts) and its Chromium
 * part (bench/soak-page.ts): one training run of the demo through the studio's engine
 * (StudioEngine, the code the worker runs) with a pause/resume every `pauseEvery` steps, an
 * evaluation every `evalEvery` and a checkpoint every `checkpointEvery` kept to `keep`. Every step it
 * samples the live GPU tensors, the GPU bytes per category, the JS heap (after a forced collection
 * where the host can force one) and the storage the checkpoints take; a second after each checkpoint
 * commit (and its retention) it samples the storage again.
 */
import type { Runtime } from '../src/engine/runtime.ts';
import type { ByteSource } from '../src/io/source.ts';
import { studioDefaults } from '../src/train/settings.ts';
import type { TrainingEvent } from '../src/worker/protocol.ts';
import type { StudioEngine } from '../src/worker/studio-engine.ts';

/** What the host (Node or a browser page) measures. */
export interface SoakHost {
  rt: Runtime;
  engine: StudioEngine;
  /**
   * The JS heap in use as found (`before`) and after a forced garbage collection (`after`; the same
   * as `before` where the host cannot force one).
   */
  heap(): { before: number; after: number };
  /** Whether heap() collects first (else it is the heap as the collector left it). */
  forcedGc: boolean;
  /** Bytes the checkpoints take in storage (a folder's files, or IndexedDB's usage estimate). */
  storage(): Promise<number>;
  log(line: string): void;
}

export interface SoakOptions {
  steps: number;
  context: number;
  pauseEvery: number;
  evalEvery: number;
  checkpointEvery: number;
  keep: number;
}

/** How long after a commit its storage is read. */
const SETTLE_MS = 1000;

export const SOAK_DEFAULTS = {
  context: 64,
  pauseEvery: 50,
  evalEvery: 25,
  checkpointEvery: 20,
  keep: 3,
};

export interface SoakSample {
  step: number;
  liveTensors: number;
  gpuBytes: Record<string, number>;
  /** JS heap used (after a forced collection when `forcedGc`). */
  heapUsed: number;
  /** JS heap used as found, before that collection. */
  heapBefore: number;
  /** Storage at this step (it saw-tooths: a commit adds a checkpoint, retention deletes one). */
  storageBytes: number;
}

export interface SoakCommit {
  step: number;
  /** Storage a second after the commit and the retention's deletions (SETTLE_MS). */
  storageBytes: number;
  /** Checkpoint bytes as the store counted them. */
  checkpointBytes: number;
}

export interface SoakFigures {
  step: number;
  liveTensors: number;
  gpuBytes: number;
  heapUsed: number;
  storageBytes: number;
}

export interface SoakResult {
  host: string;
  /** False while the run is still going (a result saved on the way, `stepsDone` of `steps`). */
  complete: boolean;
  stepsDone: number;
  steps: number;
  context: number;
  seconds: number;
  forcedGc: boolean;
  options: SoakOptions;
  /** After the first 20 steps (storage: the first commit at which `keep` checkpoints are stored). */
  start: SoakFigures;
  end: SoakFigures;
  /** (end - start) / start for each figure. */
  growth: Record<keyof Omit<SoakFigures, 'step'>, number>;
  /** The steps whose storage figure is compared (see `start`). */
  storageSteps: [number, number];
  commits: SoakCommit[];
  samples: SoakSample[];
}

const total = (b: Record<string, number>) => Object.values(b).reduce((a, x) => a + x, 0);

/**
 * Loads the demo into `host.engine` and runs the soak; `demo(file)` reads a demo file. `onProgress`
 * gets the result so far after each pause/resume (every `pauseEvery` steps).
 */
export async function runSoak(
  host: SoakHost,
  demo: (file: string) => Promise<ByteSource>,
  hostName: string,
  o: SoakOptions,
  onProgress?: (partial: SoakResult) => void,
): Promise<SoakResult> {
  const { rt, engine, log } = host;
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  const summary = await engine.loadModel(await Promise.all(files.map(demo)), () => {});
  await engine.loadData(await demo('tinystories-197k.txt'), o.context, () => {});
  const settings = {
    ...studioDefaults(summary),
    context: o.context,
    steps: o.steps,
    warmupSteps: 2,
    evalInterval: o.evalEvery,
    checkpointInterval: o.checkpointEvery,
    checkpointMinutes: 0,
    keepCheckpoints: o.keep,
  };
  // The samples go into columns allocated up front, so that the heap this soak measures does not
  // grow with its own records (they are turned into objects only for the result).
  const cols = new Samples(o.steps);
  const commits: SoakCommit[] = [];
  let pending: Promise<unknown>[] = [];
  let step = 0;
  let state = '';
  let failure: string | null = null;
  const waiters: (() => void)[] = [];
  const onEvents = (es: TrainingEvent[]) => {
    for (const e of es) {
      if (e.type === 'step' && e.step > step) {
        step = e.step;
        if (step % 10 === 0) log(`step ${step}: ${rt.liveTensors} live tensors`);
        const heap = host.heap();
        const i = cols.add(step, rt.liveTensors, rt.memory.snapshot().current, heap);
        pending.push(host.storage().then((b) => (cols.storageBytes[i] = b)));
      }
      if (e.type === 'checkpoint') {
        const c: SoakCommit = { step: e.checkpoint.step, storageBytes: NaN, checkpointBytes: 0 };
        c.checkpointBytes = e.checkpoint.bytes;
        commits.push(c);
        // Sampled once the browser's quota accounting has caught up with the retention's deletions
        // (Chromium's estimate lags a deleted database by a moment: read at once, a commit at a
        // pause read up to one checkpoint high).
        pending.push(
          new Promise((r) => setTimeout(r, SETTLE_MS))
            .then(() => host.storage())
            .then((b) => (c.storageBytes = b)),
        );
      }
      if (e.type === 'state') state = e.state;
      if (e.type === 'error') failure = e.error.message;
    }
    for (const w of waiters.splice(0)) w();
  };
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise<void>((r) => waiters.push(r));
  };
  const ended = () => state === 'done' || state === 'failed';
  const t0 = performance.now();
  await engine.start(settings, onEvents);
  for (let at = o.pauseEvery; at < o.steps; at += o.pauseEvery) {
    await until(() => step >= at || ended());
    if (state !== 'running') break;
    engine.pause();
    await until(() => state === 'paused');
    engine.resume();
    await until(() => state === 'running');
    log(`paused and resumed at step ${step}`);
    await Promise.all(pending);
    pending = [];
    onProgress?.(
      summarize(hostName, o, host.forcedGc, (performance.now() - t0) / 1000, cols.all(), commits),
    );
  }
  await until(ended);
  await engine.evaluate(o.context); // waits for the final evaluation and checkpoint
  await Promise.all(pending);
  if (failure) throw new Error(`the soak run failed: ${failure}`);
  const seconds = (performance.now() - t0) / 1000;
  return {
    ...summarize(hostName, o, host.forcedGc, seconds, cols.all(), commits),
    complete: true,
  };
}

/** Per-step samples in preallocated columns (GPU bytes: one column per category, as first seen). */
class Samples {
  private n = 0;
  readonly step: Float64Array;
  readonly liveTensors: Float64Array;
  readonly heapUsed: Float64Array;
  readonly heapBefore: Float64Array;
  readonly storageBytes: Float64Array;
  private readonly gpu = new Map<string, Float64Array>();
  /** Columns made before the run for the GPU memory categories (the runtime reports a few). */
  private readonly spare: Float64Array[] = [];

  constructor(private readonly capacity: number) {
    const col = () => new Float64Array(capacity);
    this.step = col();
    this.liveTensors = col();
    this.heapUsed = col();
    this.heapBefore = col();
    this.storageBytes = col().fill(NaN);
    for (let k = 0; k < 16; k++) this.spare.push(col());
  }

  /** Records a step; returns its index. */
  add(
    step: number,
    liveTensors: number,
    gpuBytes: Record<string, number>,
    heap: { before: number; after: number },
  ): number {
    if (this.n === this.capacity) throw new Error(`more than ${this.capacity} steps sampled`);
    const i = this.n++;
    this.step[i] = step;
    this.liveTensors[i] = liveTensors;
    this.heapUsed[i] = heap.after;
    this.heapBefore[i] = heap.before;
    for (const k in gpuBytes) {
      let c = this.gpu.get(k);
      if (!c) {
        c = this.spare.pop() ?? new Float64Array(this.capacity);
        this.gpu.set(k, c);
      }
      c[i] = gpuBytes[k]!;
    }
    return i;
  }

  all(): SoakSample[] {
    return Array.from({ length: this.n }, (_, i) => ({
      step: this.step[i]!,
      liveTensors: this.liveTensors[i]!,
      gpuBytes: Object.fromEntries([...this.gpu].map(([k, c]) => [k, c[i]!])),
      heapBefore: this.heapBefore[i]!,
      heapUsed: this.heapUsed[i]!,
      storageBytes: this.storageBytes[i]!,
    }));
  }
}

/** Start (after 20 steps) vs end figures of the samples so far. */
function summarize(
  hostName: string,
  o: SoakOptions,
  forcedGc: boolean,
  seconds: number,
  samples: SoakSample[],
  commits: SoakCommit[],
): SoakResult {
  const at = (s: number) => samples.find((x) => x.step >= s) ?? samples[0]!;
  const start = at(Math.min(20, o.steps));
  const end = samples.at(-1)!;
  // Storage is compared like with like: a second after a commit, from the first commit at which the
  // retention keeps its full `keep` checkpoints to the last commit.
  const full = commits[Math.min(Math.max(o.keep, 1), commits.length) - 1] ?? commits[0];
  const last = commits.at(-1);
  const figures = (x: SoakSample, storage: number): SoakFigures => ({
    step: x.step,
    liveTensors: x.liveTensors,
    gpuBytes: total(x.gpuBytes),
    heapUsed: x.heapUsed,
    storageBytes: storage,
  });
  const a = figures(start, full?.storageBytes ?? start.storageBytes);
  const b = figures(end, last?.storageBytes ?? end.storageBytes);
  const growth = (x: number, y: number) => (x > 0 ? (y - x) / x : 0);
  return {
    host: hostName,
    complete: false,
    stepsDone: end.step,
    steps: o.steps,
    context: o.context,
    seconds: Math.round(seconds),
    forcedGc,
    options: o,
    start: a,
    end: b,
    growth: {
      liveTensors: growth(a.liveTensors, b.liveTensors),
      gpuBytes: growth(a.gpuBytes, b.gpuBytes),
      heapUsed: growth(a.heapUsed, b.heapUsed),
      storageBytes: growth(a.storageBytes, b.storageBytes),
    },
    storageSteps: [full?.step ?? start.step, last?.step ?? end.step],
    commits: [...commits],
    samples: [...samples],
  };
}
