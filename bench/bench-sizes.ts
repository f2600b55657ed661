// Real models at real sizes: generates (if missing) the FULL-size SmolLM2-135M and TinyLlama-1.1B
// fixtures (random bf16 weights laid out as Hugging Face writes them; TinyLlama in 1 GB shards with an
// index) and loads each one
//   - in Node, the CLI's path (openModelPath → loadParams) on Dawn with the buffer limits capped to
//     128 MiB per binding / 256 MiB per buffer, so the vocabulary matrices are row-blocked as on a
//     typical adapter: load time, peak JS heap / array buffers / RSS, planned and allocated GPU bytes,
//     and with --step one training step at 256 tokens (LoRA+ defaults, s2) under a timeout;
//   - in headless Chromium, the built studio: the model folder's files set on the "Model files" input
//     (the page reads them as File slices) until the model summary shows, then a small text on
//     "Training data", target context 256 and "Start training" until the weights are uploaded (the run
//     panel leaves "Uploading weights…"): time, the worker's peak JS heap (performance.memory sampled
//     through Playwright's Worker handle), peak RSS of the renderer and GPU processes, the longest
//     requestAnimationFrame gap and long tasks on the page; with --step, the run's first training
//     step (the "Training progress" bar reaching 1): its time after the upload and the allocated GPU
//     bytes the Memory chart then shows.
// Prints a table and writes bench/sizes.json. Each model and host runs in a fresh process/browser;
// the file keeps the results of models and hosts not run this time (each result has its own date).
// Usage: npm run bench:sizes [-- --step] [--step-timeout 900] [--models smollm2-135m,tinyllama-1.1b]
//        [--hosts node,chromium] [--no-build] [--step-models smollm2-135m]
import { execSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const MiB = 2 ** 20;
const CAPS = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };
const CONTEXT = 256;
const MODELS = ['smollm2-135m', 'tinyllama-1.1b'] as const;
type Model = (typeof MODELS)[number];
const SHARD: Record<Model, string | null> = { 'smollm2-135m': null, 'tinyllama-1.1b': '1GB' };
const DIR = (m: string) => join('fixtures', 'generated', 'sizes', m);
const DATA = 'public/demo/tinystories-197k.txt';

/** Peak resident set of a process (VmHWM), bytes; null when unreadable. */
function vmHwm(pid: number | 'self'): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    step: { type: 'boolean' },
    'step-timeout': { type: 'string', default: '900' },
    'step-models': { type: 'string' },
    models: { type: 'string', default: MODELS.join(',') },
    hosts: { type: 'string', default: 'node,chromium' },
    'no-build': { type: 'boolean' },
  },
});

// ---------------------------------------------------------------------------------------------
// Node: one model in this (child) process. Prints one JSON line per phase on stdout.

async function nodeChild(name: Model, step: boolean): Promise<void> {
  const { createNodeRuntime } = await import('../src/engine/node-host.ts');
  const { openModelPath } = await import('../src/io/open-node.ts');
  const { storedWeightBytes } = await import('../src/io/dtype.ts');
  const { createTokenizer } = await import('../src/io/model.ts');
  const { loadParams } = await import('../src/model/session.ts');
  const { LlamaModel } = await import('../src/model/llama.ts');
  const { planTraining } = await import('../src/model/plan.ts');
  const { buildDataset } = await import('../src/train/data.ts');
  const { Trainer } = await import('../src/train/trainer.ts');
  const { cliDefaults, loraOf } = await import('../src/train/settings.ts');

  const peak = { heapUsed: 0, arrayBuffers: 0, external: 0, rss: 0 };
  const sample = () => {
    const u = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, u.heapUsed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, u.arrayBuffers);
    peak.external = Math.max(peak.external, u.external);
    peak.rss = Math.max(peak.rss, u.rss);
  };
  // Largest tensor handed over by the loader at once (what one read holds in JS memory).
  let largestRead = { name: '', bytes: 0 };
  const timer = setInterval(sample, 5);
  const rt = await createNodeRuntime(() => {}, CAPS);
  sample();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const opened = await openModelPath(DIR(name));
  const settings = { ...cliDefaults(CONTEXT), steps: 1 };
  settings.evalEvery = 0;
  settings.checkpointEvery = 0;
  const params = await loadParams(
    rt,
    opened,
    loraOf(settings),
    settings.seed,
    undefined,
    (n, b) => {
      sample();
      if (b > largestRead.bytes) largestRead = { name: n, bytes: b };
    },
  );
  await rt.device.queue.onSubmittedWorkDone();
  const loadMs = performance.now() - t0;
  sample();
  clearInterval(timer);
  const limits = {
    maxBufferSize: rt.info.limits.maxBufferSize,
    maxStorageBufferBindingSize: rt.info.limits.maxStorageBufferBindingSize,
  };
  const plan = planTraining({
    shape: opened.config,
    weightBytes: storedWeightBytes(opened.dtypes),
    lora: loraOf(settings),
    context: CONTEXT,
    checkpointing: settings.checkpointing,
    limits,
  });
  const snap = rt.memory.snapshot();
  const shards = new Set(opened.tensors.map((t) => t.file)).size;
  const fileBytes = readdirSync(DIR(name))
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => statSync(join(DIR(name), f)).size);
  const out = {
    phase: 'load',
    adapter: rt.info.name,
    limits,
    parameters: opened.parameterCount,
    shards,
    largestShardBytes: Math.max(...fileBytes),
    weightFileBytes: fileBytes.reduce((a, b) => a + b, 0),
    loadMs: Math.round(loadMs),
    heapUsedBefore: before.heapUsed,
    peakHeapUsed: peak.heapUsed,
    peakArrayBuffers: peak.arrayBuffers,
    peakRssSampled: peak.rss,
    peakRss: vmHwm('self'),
    largestRead,
    plannedGpuBytes: plan.total,
    plannedHostBytes: plan.hostBytes,
    plannedBytes: plan.bytes,
    allocatedGpuBytes: snap.peakTotal,
    allocatedBytes: snap.current,
  };
  console.log(JSON.stringify(out));
  if (!step) {
    process.exit(0);
  }
  const tok = createTokenizer(opened.tokenizer, opened.config);
  if (!tok) throw new Error(`${name} has no tokenizer`);
  const text = readFileSync(DATA, 'utf8').slice(0, 200_000);
  const data = buildDataset('data', text, tok, { context: CONTEXT, heldOutFraction: 0.05 });
  const model = new LlamaModel(rt, params, { checkpointing: settings.checkpointing });
  const trainer = new Trainer(rt, model, data, settings, {
    modelFingerprint: 'bench-sizes',
    modelName: name,
    // The step ends at its event (its loss read back); the trainer would then evaluate held-out
    // windows, which is no part of a step, so the process reports and exits there.
    onEvent: (e) => {
      if (e.type !== 'step') return;
      console.log(
        JSON.stringify({
          phase: 'step',
          ms: Math.round(performance.now() - t1),
          loss: e.record.loss,
          pattern: settings.attention,
          context: CONTEXT,
          peakGpuBytes: rt.memory.snapshot().peakTotal,
          peakRss: vmHwm('self'),
        }),
      );
      process.exit(0);
    },
  });
  const t1 = performance.now();
  await trainer.run();
  process.exit(0);
}

/** Runs the Node child for `name`; the step (when asked) is killed after `timeoutS` seconds. */
function runNode(name: Model, step: boolean, timeoutS: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', 'bench/bench-sizes.ts', '--child', name];
    if (step) args.push('--step');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const result: Record<string, unknown> = {};
    let timer: NodeJS.Timeout | null = null;
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o.phase === 'load') {
          Object.assign(result, o);
          console.log(`  node ${name}: loaded in ${o.loadMs} ms`);
          if (step) {
            console.log(`  node ${name}: one training step (timeout ${timeoutS} s) …`);
            timer = setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, timeoutS * 1000);
          }
        } else if (o.phase === 'step') {
          result.step = o;
        }
      }
    });
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      if (!('loadMs' in result)) return reject(new Error(`node child for ${name} exited ${code}`));
      if (step && !result.step)
        result.step = {
          ms: null,
          reason: timedOut
            ? `timeout after ${timeoutS} s on ${String(result.adapter)}`
            : `the step process exited with ${code}`,
        };
      resolve(result);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Chromium: the built studio in headless Chromium, one fresh browser per model.

async function runChromium(
  name: Model,
  port: number,
  step: boolean,
  timeoutS: number,
): Promise<Record<string, unknown>> {
  const { chromium } = await import('playwright');
  const { CHROMIUM, CHROMIUM_ARGS } = await import('../scripts/chromium.mjs');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, '--enable-precise-memory-info'],
  });
  // RSS of every Chromium process under this one, by type (renderer, gpu-process, …), sampled.
  const rootPid = process.pid;
  const rssPeak: Record<string, number> = {};
  const procs = new Map<number, string>();
  const scanProcs = () => {
    if (rootPid === null) return;
    const kids = new Map<number, number[]>();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        (kids.get(ppid) ?? kids.set(ppid, []).get(ppid)!).push(Number(d));
      } catch {
        /* gone */
      }
    }
    const walk = (pid: number) => {
      if (!procs.has(pid)) {
        let type = 'other';
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (cmd.includes('chrom')) type = 'browser';
          const m = /--type=([\w-]+)/.exec(cmd);
          if (m) type = m[1]!;
          if (type === 'utility' && cmd.includes('network')) type = 'network';
        } catch {
          /* gone */
        }
        procs.set(pid, type);
      }
      for (const k of kids.get(pid) ?? []) walk(k);
    };
    walk(rootPid);
  };
  const sampleRss = () => {
    for (const [pid, type] of procs) {
      if (type === 'other') continue;
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) rssPeak[type] = Math.max(rssPeak[type] ?? 0, Number(m[1]) * 1024);
      } catch {
        /* gone */
      }
    }
  };
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The worker's heap through CDP (dedicated workers are reached by auto-attach, not Playwright).
    const cdp = await page.context().newCDPSession(page);
    const workerSessions: string[] = [];
    let msgId = 1;
    const pending = new Map<number, (m: { result?: Record<string, number> }) => void>();
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker') workerSessions.push(e.sessionId);
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const m = JSON.parse(e.message) as { id: number; result?: Record<string, number> };
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    });
    await cdp.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: false,
    });
    for (let i = 0; ; i++) {
      try {
        await page.goto(`http://localhost:${port}/`);
        break;
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await page
      .getByRole('status', { name: 'GPU status' })
      .filter({ hasText: 'GPU self-test passed' })
      .waitFor({ timeout: 180_000 });
    // Responsiveness: the longest gap between animation frames and between 10 ms timers on the
    // page's main thread, and long tasks (> 50 ms).
    // (A string: tsx would wrap named functions in a `__name` helper the page does not have.)
    await page.evaluate(`(() => {
      const r = { maxGap: 0, maxLag: 0, frames: 0, longTasks: [] };
      window.__resp = r;
      let last = performance.now();
      const frame = (t) => {
        r.maxGap = Math.max(r.maxGap, t - last);
        r.frames++;
        last = t;
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
      let tick = performance.now();
      setInterval(() => {
        const now = performance.now();
        r.maxLag = Math.max(r.maxLag, now - tick - 10);
        tick = now;
      }, 10);
      try {
        new PerformanceObserver((l) => {
          for (const e of l.getEntries()) r.longTasks.push(e.duration);
        }).observe({ type: 'longtask', buffered: false });
      } catch {}
    })()`);
    const adapter = (await page.getByRole('status', { name: 'GPU status' }).textContent()) ?? '';
    const limits = await page.evaluate(async () => {
      const a = await navigator.gpu.requestAdapter();
      return {
        maxBufferSize: a!.limits.maxBufferSize,
        maxStorageBufferBindingSize: a!.limits.maxStorageBufferBindingSize,
      };
    });
    type HeapUsage = { usedSize: number; backingStorageSize: number };
    const heapOf = async (): Promise<HeapUsage | null> => {
      const sessionId = workerSessions.at(-1);
      if (!sessionId) return null;
      const id = msgId++;
      const got = new Promise<{ result?: Record<string, number> }>((r) => pending.set(id, r));
      await cdp.send('Target.sendMessageToTarget', {
        sessionId,
        message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }),
      });
      const m = await Promise.race([
        got,
        new Promise<null>((r) => setTimeout(() => r(null), 5000)),
      ]);
      const u = m?.result;
      return u ? { usedSize: u.usedSize!, backingStorageSize: u.backingStorageSize ?? 0 } : null;
    };
    const pageHeap = async (): Promise<number | null> =>
      page
        .evaluate(
          () =>
            (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory
              ?.usedJSHeapSize ?? null,
        )
        .catch(() => null);

    /** Runs `act` until `done` resolves, sampling heaps and RSS; returns time, peaks, responsiveness. */
    const measure = async (act: () => Promise<unknown>, done: () => Promise<unknown>) => {
      await page.evaluate(() => {
        const w = window as unknown as {
          __resp: { maxGap: number; maxLag: number; frames: number; longTasks: number[] };
        };
        Object.assign(w.__resp, { maxGap: 0, maxLag: 0, frames: 0, longTasks: [] });
      });
      const heap = { worker: 0, backing: 0, page: 0, workerSamples: 0 };
      let stop = false;
      const sampler = (async () => {
        while (!stop) {
          scanProcs();
          sampleRss();
          const [wh, ph] = await Promise.all([heapOf(), pageHeap()]);
          if (wh !== null) {
            heap.worker = Math.max(heap.worker, wh.usedSize);
            heap.backing = Math.max(heap.backing, wh.backingStorageSize);
            heap.workerSamples++;
          }
          if (ph !== null) heap.page = Math.max(heap.page, ph);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const t0 = Date.now();
      await act();
      await done();
      const ms = Date.now() - t0;
      stop = true;
      await sampler;
      const resp = await page.evaluate(() => {
        const w = window as unknown as {
          __resp: { maxGap: number; maxLag: number; frames: number; longTasks: number[] };
        };
        return {
          frames: w.__resp.frames,
          maxFrameGapMs: Math.round(w.__resp.maxGap),
          maxTimerLagMs: Math.round(w.__resp.maxLag),
          longTasks: w.__resp.longTasks.length,
          longestTaskMs: Math.round(Math.max(0, ...w.__resp.longTasks)),
        };
      });
      return {
        ms,
        peakWorkerHeap: heap.worker || null,
        peakWorkerArrayBuffers: heap.backing || null,
        workerHeapSamples: heap.workerSamples,
        peakPageHeap: heap.page || null,
        ...resp,
      };
    };

    // 1. The model folder's files through the "Model files" input, until the summary shows.
    const files = readdirSync(DIR(name))
      .filter((f) => /\.(json|safetensors)$/.test(f))
      .map((f) => join(DIR(name), f));
    const summary = page.getByLabel('Model summary');
    const open = await measure(
      () => page.getByLabel('Model files').setInputFiles(files),
      () => summary.filter({ hasText: 'LlamaForCausalLM' }).waitFor({ timeout: 300_000 }),
    );
    const progressSeen = await page
      .getByRole('progressbar', { name: 'Model load progress' })
      .count();
    console.log(`  chromium ${name}: model summary after ${open.ms} ms`);

    // 2. Data, 256 tokens, Start: the weights stream from the Files to the GPU.
    await page.getByLabel('Training data').setInputFiles({
      name: 'story.txt',
      mimeType: 'text/plain',
      buffer: readFileSync(DATA).subarray(0, 60_000),
    });
    await page.getByLabel('Data summary').filter({ hasText: 'story.txt' }).waitFor();
    await page.getByRole('spinbutton', { name: 'Target context' }).fill(String(CONTEXT));
    const start = page.getByRole('button', { name: 'Start training' });
    await start.waitFor();
    const t = Date.now();
    while (await start.isDisabled()) {
      if (Date.now() - t > 60_000) throw new Error('Start training stayed disabled');
      await new Promise((r) => setTimeout(r, 100));
    }
    const uploadingHint = page.getByText('Uploading weights and compiling kernels…');
    const uploadTexts: string[] = [];
    const upload = await measure(
      () => start.click(),
      async () => {
        await uploadingHint.waitFor({ timeout: 10_000 });
        const until = Date.now() + 1_200_000;
        while (await uploadingHint.isVisible()) {
          const bar = page.getByRole('progressbar', { name: 'Model load progress' });
          if (await bar.count()) uploadTexts.push((await bar.locator('..').textContent()) ?? '');
          if (Date.now() > until) throw new Error('weights upload did not finish in 20 min');
          await new Promise((r) => setTimeout(r, 250));
        }
      },
    );
    const failed = (await page.getByText('The run stopped with an error.').count()) > 0;
    const after = failed ? ((await page.getByRole('alert').first().textContent()) ?? '') : '';
    console.log(`  chromium ${name}: weights uploaded after ${upload.ms} ms`);
    scanProcs();
    sampleRss();
    const hwm: Record<string, number> = {};
    for (const [pid, type] of procs) {
      if (type === 'other') continue;
      const h = vmHwm(pid);
      if (h !== null) hwm[type] = Math.max(hwm[type] ?? 0, h);
    }
    for (const [type, b] of Object.entries(rssPeak)) hwm[type] = Math.max(hwm[type] ?? 0, b);
    // 3. With --step: the run goes on to its first training step (the progress bar reaches 1); the
    // Memory chart then shows the step's peak of allocated GPU bytes.
    let stepResult: Record<string, unknown> = {
      ms: null,
      reason: 'not run (no --step for this model)',
    };
    let allocated: number | null = null;
    if (step && !failed) {
      console.log(`  chromium ${name}: one training step (timeout ${timeoutS} s) …`);
      const progress = page.getByRole('progressbar', { name: 'Training progress' });
      const t1 = Date.now();
      let done = false;
      while (Date.now() - t1 < timeoutS * 1000) {
        if (Number(await progress.getAttribute('aria-valuenow')) >= 1) {
          done = true;
          break;
        }
        if (await page.getByText('The run stopped with an error.').count()) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const ms = Date.now() - t1;
      if (done) {
        const chart =
          (await page.getByRole('figure', { name: 'Memory chart' }).textContent()) ?? '';
        // The chart prints binary units (util/bytes.ts formatBytes: KiB, MiB, GiB).
        const m = /peak ([\d.]+) (KiB|MiB|GiB)/.exec(chart);
        allocated = m
          ? Number(m[1]) * { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[m[2] as 'KiB']
          : null;
        stepResult = { phase: 'step', ms, peakGpuBytesShown: allocated };
        console.log(`  chromium ${name}: first step after ${ms} ms`);
      } else {
        const err =
          (await page
            .getByRole('alert')
            .first()
            .textContent()
            .catch(() => '')) ?? '';
        stepResult = {
          ms: null,
          reason: err ? `the run failed: ${err.slice(0, 200)}` : `no step within ${timeoutS} s`,
        };
      }
    }
    const plan = await planFor(name, limits);
    return {
      adapter: adapter.trim(),
      limits,
      open: { ...open, byteProgressShown: progressSeen > 0 },
      upload: {
        ...upload,
        byteProgressShown: uploadTexts.length > 0,
        error: failed ? after.slice(0, 300) : undefined,
      },
      loadMs: open.ms + upload.ms,
      peakWorkerHeap: Math.max(open.peakWorkerHeap ?? 0, upload.peakWorkerHeap ?? 0) || null,
      peakWorkerArrayBuffers:
        Math.max(open.peakWorkerArrayBuffers ?? 0, upload.peakWorkerArrayBuffers ?? 0) || null,
      peakRssSampledByProcess: rssPeak,
      peakRssByProcess: hwm,
      ...plan,
      allocatedGpuBytes: allocated,
      ...(allocated === null
        ? { allocatedReason: 'the page shows allocated GPU bytes with the first step (--step)' }
        : {
            allocatedSource: "the Memory chart's peak after the first step (3 significant digits)",
          }),
      step: stepResult,
    };
  } finally {
    await browser.close();
  }
}

/** The training plan at 256 tokens with `limits` (what the studio's plan shows). */
async function planFor(
  name: Model,
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number },
) {
  const { openModelPath } = await import('../src/io/open-node.ts');
  const { storedWeightBytes } = await import('../src/io/dtype.ts');
  const { planTraining } = await import('../src/model/plan.ts');
  const { cliDefaults, loraOf } = await import('../src/train/settings.ts');
  const opened = await openModelPath(DIR(name));
  const s = cliDefaults(CONTEXT);
  const plan = planTraining({
    shape: opened.config,
    weightBytes: storedWeightBytes(opened.dtypes),
    lora: loraOf(s),
    context: CONTEXT,
    checkpointing: s.checkpointing,
    limits,
  });
  return { plannedGpuBytes: plan.total, plannedHostBytes: plan.hostBytes };
}

// ---------------------------------------------------------------------------------------------

function ensureFixture(name: Model): void {
  const dir = DIR(name);
  if (existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'tokenizer.json'))) return;
  const shard = SHARD[name];
  const cmd =
    `npx tsx scripts/make-fixtures.ts --real ${name} --width full --out ${dir}` +
    (shard ? ` --max-shard-size ${shard}` : '');
  console.log(`generating ${dir}: ${cmd}`);
  const t0 = Date.now();
  execSync(cmd, { stdio: 'inherit' });
  console.log(`  generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const gb = (b: unknown) => (typeof b === 'number' ? `${(b / 1e9).toFixed(2)} GB` : '—');
const mb = (b: unknown) => (typeof b === 'number' ? `${(b / 1e6).toFixed(0)} MB` : '—');
const sec = (ms: unknown) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '—');

async function main(): Promise<void> {
  const models = values.models!.split(',') as Model[];
  const hosts = values.hosts!.split(',');
  const stepModels = (values['step-models'] ?? 'smollm2-135m').split(',');
  const timeoutS = Number(values['step-timeout']);
  for (const m of models) ensureFixture(m);
  const results: Record<string, Record<string, unknown>> = {};
  let server: ReturnType<typeof spawn> | null = null;
  const PORT = 4184;
  try {
    for (const m of models) {
      results[m] = {};
      if (hosts.includes('node')) {
        const step = !!values.step && stepModels.includes(m);
        const r = await runNode(m, step, timeoutS);
        if (!step)
          r.step = {
            ms: null,
            reason: values.step
              ? `skipped on this machine (${String(r.adapter)}, a CPU): far beyond the ${timeoutS} s timeout`
              : 'not run (no --step)',
          };
        results[m].node = r;
      }
      if (hosts.includes('chromium')) {
        if (!server) {
          if (!values['no-build']) execSync('npx vite build', { stdio: 'inherit' });
          server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort'], {
            stdio: 'ignore',
            detached: true,
          });
        }
        const step = !!values.step && stepModels.includes(m);
        results[m].chromium = await runChromium(m, PORT, step, timeoutS);
      }
    }
  } finally {
    if (server?.pid) process.kill(-server.pid);
  }
  const rows: string[] = [
    '| model | host | files | load | peak JS heap | peak array buffers | peak RSS | planned GPU | allocated GPU | step (256 tok) | page: longest frame gap / long tasks |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [m, byHost] of Object.entries(results)) {
    for (const [h, r] of Object.entries(byHost) as [string, Record<string, unknown>][]) {
      const step = r.step as { ms: number | null; reason?: string };
      if (h === 'node') {
        rows.push(
          `| ${m} | Node (Dawn) | ${r.shards} × ≤ ${gb(r.largestShardBytes)} | ${sec(r.loadMs)} | ${mb(r.peakHeapUsed)} | ${mb(r.peakArrayBuffers)} | ${gb(r.peakRss)} | ${gb(r.plannedGpuBytes)} | ${gb(r.allocatedGpuBytes)} | ${step.ms !== null ? sec(step.ms) : step.reason} | — |`,
        );
      } else {
        const rss = r.peakRssByProcess as Record<string, number>;
        const open = r.open as Record<string, unknown>;
        const up = r.upload as Record<string, unknown>;
        rows.push(
          `| ${m} | Chromium | summary ${sec(open.ms)}, upload ${sec(up.ms)} | ${sec(r.loadMs)} | worker ${mb(r.peakWorkerHeap)} | worker ${mb(r.peakWorkerArrayBuffers)} | renderer ${gb(rss.renderer)}, GPU ${gb(rss['gpu-process'])} | ${gb(r.plannedGpuBytes)} | ${gb(r.allocatedGpuBytes)} | ${step.ms !== null ? sec(step.ms) : step.reason} | ${Math.max(Number(open.maxFrameGapMs), Number(up.maxFrameGapMs))} ms / ${Number(open.longTasks) + Number(up.longTasks)} |`,
        );
      }
    }
  }
  console.log(rows.join('\n'));
  // Results of models and hosts not run this time stay as they were.
  const now = new Date().toISOString();
  const before = existsSync('bench/sizes.json')
    ? (JSON.parse(readFileSync('bench/sizes.json', 'utf8')) as { models?: typeof results })
    : {};
  const merged: typeof results = before.models ?? {};
  for (const [m, byHost] of Object.entries(results)) {
    for (const [h, r] of Object.entries(byHost)) {
      merged[m] = { ...merged[m], [h]: { ...(r as object), generatedAt: now } };
    }
  }
  const out = { ...before, context: CONTEXT, caps: CAPS, generatedAt: now, models: merged };
  writeFileSync('bench/sizes.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log('wrote bench/sizes.json');
}

if (values.child) await nodeChild(values.child as Model, !!values.step);
else await main();
