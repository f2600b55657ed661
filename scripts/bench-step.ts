// npm run bench:step: one LongLoRA training step (s2, LoRA+ on q,k,v,o with embeddings and norms,
// gradient checkpointing) per model fixture, in Node on whatever adapter Dawn finds (SwiftShader
// here): step time, tokens/s, model GFLOP/s (6 × matmul parameters × tokens: the projections of
// every layer and the output layer), the adapter's FMA peak measured in the same process
// (bench/fma.ts), their ratio, the peak GPU bytes, and the kernel-tuning time before the step.
// Each row runs in its own process; the fixtures are random-weight Hugging Face folders in the
// exact shapes of the real models (scripts/make-fixtures.ts), written under fixtures/generated/step/.
// Writes bench/step.json (rows merged by id; `--out` names another file, e.g. a GPU machine's) and
// prints a table. `--rows all` runs every row.
//   npm run bench:step [-- --rows stories260k,smollm2-4l] [--steps 2] [--timeout 3600] [--out F]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface Row {
  id: string;
  label: string;
  /** public/demo, or a real model name for make-fixtures. */
  model: string;
  layers?: number;
  context: number;
}

const ROWS: Row[] = [
  { id: 'stories260k', label: 'stories260K', model: 'public/demo', context: 1024 },
  {
    id: 'smollm2-4l',
    label: 'SmolLM2-135M, 4 layers',
    model: 'smollm2-135m',
    layers: 4,
    context: 256,
  },
  { id: 'smollm2', label: 'SmolLM2-135M (30 layers)', model: 'smollm2-135m', context: 256 },
  {
    id: 'tinyllama-1l-2k',
    label: 'TinyLlama-1.1B, 1 layer',
    model: 'tinyllama-1.1b',
    layers: 1,
    context: 2048,
  },
  {
    id: 'tinyllama-1l-4k',
    label: 'TinyLlama-1.1B, 1 layer',
    model: 'tinyllama-1.1b',
    layers: 1,
    context: 4096,
  },
  {
    id: 'tinyllama-1l-8k',
    label: 'TinyLlama-1.1B, 1 layer',
    model: 'tinyllama-1.1b',
    layers: 1,
    context: 8192,
  },
];

const DATA = 'public/demo/tinystories-197k.txt';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: 'stories260k,smollm2-4l' },
    steps: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '7200' },
    child: { type: 'string' },
    out: { type: 'string', default: 'bench/step.json' },
  },
});
const OUT = values.out!;

function fixtureDir(r: Row): string {
  if (r.model === 'public/demo') return r.model;
  const dir = join('fixtures', 'generated', 'step', `${r.model}${r.layers ? `-${r.layers}l` : ''}`);
  if (!existsSync(join(dir, 'config.json'))) {
    console.log(`  writing the ${r.label} fixture to ${dir} …`);
    const args = ['--import', 'tsx', 'scripts/make-fixtures.ts', '--real', r.model, '--out', dir];
    if (r.layers) args.push('--layers', String(r.layers));
    execFileSync(process.execPath, args, { stdio: 'inherit' });
  }
  return dir;
}

if (values.child) {
  await child(
    ROWS.find((r) => r.id === values.child)!,
    Number(values.steps),
  );
  process.exit(0);
}

const wanted = values.rows === 'all' ? ROWS.map((r) => r.id) : values.rows!.split(',');
for (const id of wanted) if (!ROWS.some((r) => r.id === id)) throw new Error(`unknown row ${id}`);
const results: Record<string, unknown>[] = existsSync(OUT)
  ? (JSON.parse(readFileSync(OUT, 'utf8')).rows ?? [])
  : [];
for (const r of ROWS.filter((x) => wanted.includes(x.id))) {
  const dir = fixtureDir(r);
  console.log(`${r.label} at ${r.context} tokens (${dir}) …`);
  const res = await runChild(r, Number(values.timeout));
  const row = {
    id: r.id,
    model: r.label,
    context: r.context,
    date: new Date().toISOString(),
    ...res,
  };
  const i = results.findIndex((x) => x.id === r.id);
  if (i >= 0) results[i] = row;
  else results.push(row);
  writeFileSync(OUT, `${JSON.stringify({ rows: results }, null, 2)}\n`);
}
printTable(results);

function runChild(r: Row, timeoutS: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const args = [
      '--import',
      'tsx',
      'scripts/bench-step.ts',
      '--child',
      r.id,
      '--steps',
      values.steps!,
    ];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutS * 1000);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{"result"'));
      if (line) resolve(JSON.parse(line).result);
      else resolve({ error: code === null ? `killed after ${timeoutS} s` : `exit ${code}` });
    });
  });
}

async function child(r: Row, steps: number): Promise<void> {
  const { createNodeRuntime } = await import('../src/engine/node-host.ts');
  const { setTuneStore } = await import('../src/engine/kernels/autotune.ts');
  const { fileTuneStore } = await import('../src/engine/tune-store-node.ts');
  const { createTokenizer } = await import('../src/io/model.ts');
  const { openModelPath } = await import('../src/io/open-node.ts');
  const { linearShape, LINEAR_NAMES } = await import('../src/io/config.ts');
  const { LlamaModel } = await import('../src/model/llama.ts');
  const { loadParams } = await import('../src/model/session.ts');
  const { tuneModelKernels, tuneModelOf } = await import('../src/model/tune.ts');
  const { buildDataset } = await import('../src/train/data.ts');
  const { Trainer } = await import('../src/train/trainer.ts');
  const { defaultTrainSettings } = await import('../src/train/types.ts');
  const { fmaPeakGflops } = await import('../bench/fma.ts');

  const m = await openModelPath(fixtureDir(r));
  const c = m.config;
  const tok = createTokenizer(m.tokenizer, m.config)!;
  const text = readFileSync(DATA, 'utf8');
  const data = buildDataset('data', text, tok, { context: r.context, heldOutBlocks: 0 });
  const rt = await createNodeRuntime();
  setTuneStore(fileTuneStore());
  const settings = {
    ...defaultTrainSettings(r.context, c),
    steps,
    evalEvery: 0,
    checkpointEvery: 0,
  };
  const peakBefore = await fmaPeakGflops(rt);
  const params = await loadParams(rt, m, settings.lora, settings.seed);
  const t0 = performance.now();
  await tuneModelKernels(rt, tuneModelOf(params), r.context, { budgetMs: 60_000 });
  const tuneMs = performance.now() - t0;
  const model = new LlamaModel(rt, params, { checkpointing: settings.checkpointing });
  const stepMs: number[] = [];
  const losses: number[] = [];
  let last = performance.now();
  const trainer = new Trainer(rt, model, data, settings, {
    modelFingerprint: 'bench-step',
    modelName: r.id,
    onEvent: (e) => {
      if (e.type !== 'step') return;
      const now = performance.now();
      stepMs.push(now - last);
      losses.push(e.record.loss);
      last = now;
    },
  });
  await trainer.run();
  const peakAfter = await fmaPeakGflops(rt);
  let matmulParams = c.vocabSize * c.hidden;
  for (const n of LINEAR_NAMES) {
    const [o, i] = linearShape(c, n);
    matmulParams += c.layers * o * i;
  }
  // The median of the steps after the first (which also compiles every pipeline); with two steps,
  // the second.
  const later = stepMs.slice(1).sort((x, y) => x - y);
  const ms = later.length ? later[Math.floor((later.length - 1) / 2)]! : stepMs[0]!;
  const gflops = (6 * matmulParams * r.context) / (ms * 1e6);
  const peak = (peakBefore + peakAfter) / 2;
  const result = {
    adapter: `${rt.info.name}${rt.info.description ? ` (${rt.info.description})` : ''}`,
    steps: stepMs.length,
    firstStepMs: Math.round(stepMs[0]!),
    stepMs: Math.round(ms * 10) / 10,
    tokensPerSec: r.context / (ms / 1000),
    matmulParams,
    modelGflops: gflops,
    fmaPeakGflops: peak,
    fmaPeakBefore: peakBefore,
    fmaPeakAfter: peakAfter,
    fractionOfPeak: gflops / peak,
    peakGpuBytes: rt.memory.snapshot().peakTotal,
    tuneMs: Math.round(tuneMs),
    losses,
  };
  console.log(JSON.stringify({ result }));
}

function printTable(rows: Record<string, unknown>[]): void {
  const f = (x: unknown, d = 2) => (typeof x === 'number' ? x.toFixed(d) : String(x ?? '—'));
  console.log(
    '\n| model | context | step s | tokens/s | model GFLOP/s | FMA peak GFLOP/s | of peak | GPU MiB | adapter |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.model} | ${r.context} | ${r.error} | | | | | | |`);
      continue;
    }
    console.log(
      `| ${r.model} | ${r.context} | ${f(Number(r.stepMs) / 1000, Number(r.stepMs) < 10_000 ? 3 : 1)} | ${f(r.tokensPerSec, 1)} | ${f(r.modelGflops)} | ${f(r.fmaPeakGflops)} | ${f(100 * Number(r.fractionOfPeak), 1)} % | ${f(Number(r.peakGpuBytes) / 2 ** 20, 0)} | ${r.adapter} |`,
    );
  }
}
