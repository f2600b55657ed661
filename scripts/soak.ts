/**
 * Soak benchmark (issue #12), Node part: N training steps of the demo (default 500, at 64 tokens so
 * a CPU adapter finishes in minutes) through the studio's engine (StudioEngine, the worker's own
 * code) with a pause/resume every 50 steps, an evaluation every 25 and a checkpoint every 20 kept to
 * 3. Every step it samples live GPU tensors, GPU bytes per category, the JS heap and the checkpoint
 * folder's bytes; writes bench/soak.json with the samples and start (step 20) vs end figures.
 *
 *   npx tsx scripts/soak.ts [--steps 500] [--context 64] [--out bench/soak.json]
 *
 * The headless-Chromium part (200 steps with IndexedDB usage) is not written yet.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createNodeRuntime } from '../src/engine/node-host.ts';
import { bytesSource } from '../src/io/source.ts';
import { defaultSettings } from '../src/store/settings.ts';
import { CheckpointStore } from '../src/train/checkpoint.ts';
import { FolderBlobStore } from '../src/train/store-node.ts';
import type { TrainingEvent } from '../src/worker/protocol.ts';
import { StudioEngine } from '../src/worker/studio-engine.ts';
import { readFileSync } from 'node:fs';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    context: { type: 'string', default: '64' },
    out: { type: 'string', default: 'bench/soak.json' },
  },
});
const STEPS = Number(values.steps);
const CONTEXT = Number(values.context);

function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? folderBytes(p) : statSync(p).size;
  }
  return n;
}

const demo = (f: string) => bytesSource(f, new Uint8Array(readFileSync(join('public/demo', f))));

async function main() {
  // Dawn's pending GPU work does not keep Node's event loop alive by itself.
  const keepAlive = setInterval(() => {}, 1000);
  const dir = mkdtempSync(join(tmpdir(), 'soak-'));
  const rtP = createNodeRuntime((m) => console.error(m));
  const rt = await rtP;
  const engine = new StudioEngine(() => rtP, new CheckpointStore(new FolderBlobStore(dir)));
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  console.error('loading');
  const summary = await engine.loadModel(files.map(demo), () => {});
  console.error('model loaded');
  await engine.loadData(demo('tinystories-197k.txt'), CONTEXT, () => {});
  const settings = {
    ...defaultSettings(summary),
    targetContext: CONTEXT,
    steps: STEPS,
    warmupSteps: 2,
    evalInterval: 25,
    checkpointInterval: 20,
    checkpointMinutes: 0,
    keepCheckpoints: 3,
  };
  type Sample = {
    step: number;
    liveTensors: number;
    gpuBytes: Record<string, number>;
    heapUsed: number;
    storageBytes: number;
  };
  const samples: Sample[] = [];
  let step = 0;
  let state = '';
  const waiters: (() => void)[] = [];
  const onEvents = (es: TrainingEvent[]) => {
    for (const e of es) {
      if (e.type === 'step' && e.step > step) {
        step = e.step;
        if (step % 10 === 0) console.error(`step ${step}`);
        samples.push({
          step,
          liveTensors: rt.liveTensors,
          gpuBytes: { ...rt.memory.snapshot().current },
          heapUsed: process.memoryUsage().heapUsed,
          storageBytes: folderBytes(dir),
        });
      }
      if (e.type === 'state') state = e.state;
      if (e.type === 'error') console.error(e.error.message);
    }
    for (const w of waiters.splice(0)) w();
  };
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise<void>((r) => waiters.push(r));
  };
  const t0 = performance.now();
  await engine.start(settings, onEvents);
  for (let at = 50; at < STEPS; at += 50) {
    await until(() => step >= at || state === 'done' || state === 'failed');
    if (state !== 'running') break;
    engine.pause();
    await until(() => state === 'paused');
    engine.resume();
    await until(() => state === 'running');
    console.error(`step ${step}: ${rt.liveTensors} live tensors`);
  }
  await until(() => state === 'done' || state === 'failed');
  await engine.evaluate(CONTEXT); // waits for the final evaluation and checkpoint
  const seconds = (performance.now() - t0) / 1000;
  const at = (s: number) => samples.find((x) => x.step === s) ?? samples[0]!;
  const start = at(20);
  const end = samples.at(-1)!;
  const total = (x: Sample) => Object.values(x.gpuBytes).reduce((a, b) => a + b, 0);
  const growth = (a: number, b: number) => (a > 0 ? (b - a) / a : 0);
  const summaryOut = {
    host: `Node + Dawn (${rt.info.name})`,
    steps: STEPS,
    context: CONTEXT,
    seconds: Math.round(seconds),
    start: {
      step: start.step,
      liveTensors: start.liveTensors,
      gpuBytes: total(start),
      heapUsed: start.heapUsed,
      storageBytes: start.storageBytes,
    },
    end: {
      step: end.step,
      liveTensors: end.liveTensors,
      gpuBytes: total(end),
      heapUsed: end.heapUsed,
      storageBytes: end.storageBytes,
    },
    growth: {
      liveTensors: growth(start.liveTensors, end.liveTensors),
      gpuBytes: growth(total(start), total(end)),
      heapUsed: growth(start.heapUsed, end.heapUsed),
      storageBytes: growth(start.storageBytes, end.storageBytes),
    },
  };
  console.log(JSON.stringify(summaryOut, null, 2));
  writeFileSync(values.out!, JSON.stringify({ node: { ...summaryOut, samples } }, null, 1) + '\n');
  rmSync(dir, { recursive: true, force: true });
  clearInterval(keepAlive);
  process.exit(0);
}

void main();
