// What the memory savings of "Memory at real sizes" cost in speed: one training step (forward and
// backward, LoRA+ on q,k,v,o with embeddings and norms, s2, checkpointing) of an in-between shape
// (SmolLM2's config at hidden 256, 4 heads / 1 kv head of 64, mlp 768, vocab 2048, 2 layers) at
// 512 tokens, in Node (Dawn), under five settings. SwiftShader runs inside this process, so the
// process's CPU time per step (user + system) measures the work a setting does even when other
// programs share the machine; wall-clock time from launch to the loss read back is reported too.
// Settings:
//   - whole:     no caps (SwiftShader binds and allocates 1 GiB): every buffer whole, one launch per op;
//   - blocked:   bindings and buffers capped at 768 bytes per token (384 KiB at 512 tokens), scaled
//                from what 128 MiB does to a 1B-7B model at 8k-32k: the MLP in 4 token blocks, the
//                row-local ops and attention queries in 2, each [T, 256] f32 buffer in 2 parts;
//   - f16:       whole, with 16-bit layer-input checkpoints;
//   - both:      blocked and f16;
//   - offload:   both, with the layer-input checkpoints offloaded to host memory (LlamaModel's
//                `offload`, `--offload checkpoints`): its ratio to "both" is offload's cost.
// The settings run interleaved (one warm-up round, then --rounds timed rounds) so drift on a shared
// machine falls on all of them alike; the median of each is reported, with its ratio to "whole".
// Also per setting, from a run with every dispatch timed on its own: the GPU time of the kernels
// only the saving adds (attention.merge; checkpoint16 pack/unpack). Prints a table, writes
// bench/savings.json. Usage: npm run bench:savings [-- --rounds 3] [--context 512]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createNodeRuntime } from '../src/engine/node-host.ts';
import type { RuntimeCaps } from '../src/engine/device.ts';
import type { DispatchSpec, Runtime } from '../src/engine/runtime.ts';
import { openModelPath } from '../src/io/open-node.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { defaultLora, groupSize, ropeFactor } from '../src/model/longlora.ts';
import { loadParams } from '../src/model/session.ts';
import { writeRealModel } from '../scripts/make-fixtures.ts';
import { IGNORE_INDEX } from '../src/util/labels.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    context: { type: 'string', default: '512' },
  },
});
const T = Number(values.context);
const ROUNDS = Number(values.rounds);
const CAP = 768 * T;

interface Setting {
  name: string;
  caps?: RuntimeCaps;
  checkpoint16: boolean;
  offload?: boolean;
  /** The setting it is measured against besides "whole" (offload: the same without it). */
  without?: string;
}
const SETTINGS: Setting[] = [
  { name: 'whole', checkpoint16: false },
  {
    name: 'blocked',
    caps: { maxStorageBufferBindingSize: CAP, maxBufferSize: CAP },
    checkpoint16: false,
  },
  { name: 'f16', checkpoint16: true },
  {
    name: 'both',
    caps: { maxStorageBufferBindingSize: CAP, maxBufferSize: CAP },
    checkpoint16: true,
  },
  {
    name: 'offload',
    caps: { maxStorageBufferBindingSize: CAP, maxBufferSize: CAP },
    checkpoint16: true,
    offload: true,
    without: 'both',
  },
];

const dir = join(tmpdir(), `longlora-savings-${process.pid}`);
mkdirSync(dir, { recursive: true });
await writeRealModel(dir, 'smollm2-135m', {
  overrides: {
    hidden_size: 256,
    intermediate_size: 768,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    head_dim: 64,
    vocab_size: 2048,
    num_hidden_layers: 2,
  },
});
const opened = await openModelPath(dir);
const lora = defaultLora();
const ids = Uint32Array.from({ length: T }, (_, i) => (i * 7919) % 2048);
const labels = Int32Array.from({ length: T }, (_, i) => (i === T - 1 ? IGNORE_INDEX : ids[i + 1]!));
const pass = {
  pattern: 's2' as const,
  group: groupSize(T, 's2'),
  ropeFactor: ropeFactor(T, opened.config),
};

interface Loaded {
  setting: Setting;
  rt: Runtime;
  model: LlamaModel;
  ms: number[];
  cpuMs: number[];
  extraKernelsMs: number;
  stepGpuMs: number;
  dispatches: number;
}

const loaded: Loaded[] = [];
for (const setting of SETTINGS) {
  const rt = await createNodeRuntime(undefined, setting.caps);
  const params = await loadParams(rt, opened, lora, 0);
  const model = new LlamaModel(rt, params, {
    checkpointing: true,
    checkpoint16: setting.checkpoint16,
    offload: setting.offload === true,
  });
  loaded.push({
    ...{ setting, rt, model, ms: [], cpuMs: [] },
    ...{ extraKernelsMs: 0, stepGpuMs: 0, dispatches: 0 },
  });
}

const step = (l: Loaded) => l.model.forwardBackward({ ids, labels }, pass);
for (let round = 0; round <= ROUNDS; round++) {
  for (const l of loaded) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await step(l);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1000;
    if (round > 0) {
      l.ms.push(ms);
      l.cpuMs.push(cpu);
    }
    console.error(
      `round ${round} ${l.setting.name}: ${(ms / 1000).toFixed(2)} s, CPU ${(cpu / 1000).toFixed(2)} s`,
    );
  }
}

// One more step per setting with each dispatch submitted and timed alone: the kernels a saving adds.
const EXTRA = /^(attention\.merge|checkpoint16\.)/;
for (const l of loaded) {
  const rt = l.rt;
  const dispatch = rt.dispatch.bind(rt);
  let chain: Promise<void> = Promise.resolve();
  let last = performance.now();
  const times: { shader: string; ms: number }[] = [];
  rt.dispatch = (spec: DispatchSpec) => {
    dispatch(spec);
    rt.flush();
    const done = rt.device.queue.onSubmittedWorkDone();
    chain = chain.then(async () => {
      await done;
      const now = performance.now();
      times.push({ shader: spec.shader, ms: now - last });
      last = now;
    });
  };
  last = performance.now();
  await step(l);
  await chain;
  rt.dispatch = dispatch;
  l.stepGpuMs = times.reduce((a, t) => a + t.ms, 0);
  l.extraKernelsMs = times.filter((t) => EXTRA.test(t.shader)).reduce((a, t) => a + t.ms, 0);
  l.dispatches = times.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(loaded[0]!.ms);
const baseCpu = median(loaded[0]!.cpuMs);
const byName = new Map(loaded.map((l) => [l.setting.name, l]));
/** A setting's medians over those of the one it is measured against (`without`), or null. */
function ratioToWithout(l: Loaded): { wall: number; cpu: number } | null {
  const w = l.setting.without === undefined ? undefined : byName.get(l.setting.without);
  if (!w) return null;
  return {
    wall: Number((median(l.ms) / median(w.ms)).toFixed(3)),
    cpu: Number((median(l.cpuMs) / median(w.cpuMs)).toFixed(3)),
  };
}
const rows = loaded.map((l) => ({
  setting: l.setting.name,
  caps: l.setting.caps ?? null,
  checkpoint16: l.setting.checkpoint16,
  offload: l.setting.offload === true,
  without: l.setting.without ?? null,
  ratioToWithout: ratioToWithout(l),
  hostBytes: l.model.hostBytes,
  stepMs: l.ms.map((x) => Math.round(x)),
  medianMs: Math.round(median(l.ms)),
  ratioToWhole: Number((median(l.ms) / base).toFixed(3)),
  cpuMs: l.cpuMs.map((x) => Math.round(x)),
  medianCpuMs: Math.round(median(l.cpuMs)),
  cpuRatioToWhole: Number((median(l.cpuMs) / baseCpu).toFixed(3)),
  dispatches: l.dispatches,
  extraKernelsMs: Math.round(l.extraKernelsMs),
  extraKernelsShare: Number((l.extraKernelsMs / l.stepGpuMs).toFixed(4)),
}));
console.log(
  [
    `one training step, ${T} tokens, hidden 256, 2 layers, on ${loaded[0]!.rt.info.name}`,
    '| setting | CPU time per step (median) | × whole | wall time (median) | × whole | × without offload (CPU, wall) | dispatches | merge + f16 pack/unpack GPU time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.setting} | ${(r.medianCpuMs / 1000).toFixed(2)} s | ${r.cpuRatioToWhole.toFixed(2)} | ${(r.medianMs / 1000).toFixed(2)} s | ${r.ratioToWhole.toFixed(2)} | ${r.ratioToWithout ? `${r.ratioToWithout.cpu.toFixed(2)}, ${r.ratioToWithout.wall.toFixed(2)} (vs ${r.without})` : '—'} | ${r.dispatches} | ${r.extraKernelsMs} ms (${(100 * r.extraKernelsShare).toFixed(1)} %) |`,
    ),
  ].join('\n'),
);
mkdirSync('bench', { recursive: true });
writeFileSync(
  'bench/savings.json',
  `${JSON.stringify(
    {
      context: T,
      rounds: ROUNDS,
      adapter: loaded[0]!.rt.info.name,
      generatedAt: new Date().toISOString(),
      settings: rows,
    },
    null,
    2,
  )}\n`,
);
console.log('wrote bench/savings.json');
for (const l of loaded) l.rt.destroy(true);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
