// Where a training step's GPU time goes: runs a few steps of the demo setup in Node (Dawn) with every
// dispatch submitted on its own, and times each one by when the queue reports it done. Prints time
// per kernel (shader) for the last step. Usage:
//   npx tsx bench/profile-step.ts [--context 1024] [--pattern s2] [--steps 2] [--model DIR]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTuneStore } from '../src/engine/kernels/autotune.ts';
import { createNodeRuntime } from '../src/engine/node-host.ts';
import { fileTuneStore } from '../src/engine/tune-store-node.ts';
import { tuneModelKernels, tuneModelOf } from '../src/model/tune.ts';
import type { DispatchSpec } from '../src/engine/runtime.ts';
import { createTokenizer } from '../src/io/model.ts';
import { openModelPath } from '../src/io/open-node.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { loadParams } from '../src/model/session.ts';
import type { AttentionPattern } from '../src/model/types.ts';
import { buildDataset } from '../src/train/data.ts';
import { Trainer } from '../src/train/trainer.ts';
import { cliDefaults, loraOf } from '../src/train/settings.ts';

const { values } = parseArgs({
  options: {
    context: { type: 'string', default: '1024' },
    pattern: { type: 'string', default: 's2' },
    steps: { type: 'string', default: '2' },
    model: { type: 'string', default: 'public/demo' },
    data: { type: 'string', default: 'public/demo/tinystories-197k.txt' },
  },
});
const context = Number(values.context);
const m = await openModelPath(values.model!);
const tok = createTokenizer(m.tokenizer, m.config)!;
const data = buildDataset('data', readFileSync(values.data!, 'utf8'), tok, {
  context,
  heldOutFraction: 0.05,
});
const rt = await createNodeRuntime();
const settings = {
  ...cliDefaults(context),
  attention: values.pattern as AttentionPattern,
  steps: Number(values.steps),
  evalEvery: 0,
  checkpointEvery: 0,
};
const params = await loadParams(rt, m, loraOf(settings), settings.seed);
// The kernels a run would use: the tuned choices (timed now if this adapter has none cached).
setTuneStore(fileTuneStore());
await tuneModelKernels(rt, tuneModelOf(params), context, { budgetMs: 60_000 });
const model = new LlamaModel(rt, params, { checkpointing: settings.checkpointing });

let step = 0;
const times: { step: number; shader: string; label: string; ms: number }[] = [];
let last = performance.now();
let chain: Promise<void> = Promise.resolve();
const dispatch = rt.dispatch.bind(rt);
rt.dispatch = (spec: DispatchSpec) => {
  dispatch(spec);
  rt.flush();
  const s = step;
  const done = rt.device.queue.onSubmittedWorkDone();
  chain = chain.then(async () => {
    await done;
    const now = performance.now();
    times.push({ step: s, shader: spec.shader, label: spec.label ?? spec.shader, ms: now - last });
    last = now;
  });
};
const t0 = performance.now();
const trainer = new Trainer(rt, model, data, settings, {
  modelFingerprint: 'profile',
  modelName: 'profile',
  onEvent: (e) => {
    if (e.type === 'step') {
      console.error(`step ${e.record.step} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      step = e.record.step;
      last = performance.now();
    }
  },
});
await trainer.run();
await chain;
const lastStep = Number(values.steps) - 1; // the last training step (later work is the final eval)
const by = new Map<string, { ms: number; n: number }>();
for (const t of times.filter((x) => x.step === lastStep)) {
  const key = process.env.BY_LABEL ? t.label : t.shader;
  const e = by.get(key) ?? { ms: 0, n: 0 };
  e.ms += t.ms;
  e.n++;
  by.set(key, e);
}
const total = [...by.values()].reduce((a, b) => a + b.ms, 0);
console.log(
  `step ${lastStep + 1}: ${total.toFixed(0)} ms GPU in ${[...by.values()].reduce((a, b) => a + b.n, 0)} dispatches`,
);
for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(
    `${k.padEnd(process.env.BY_LABEL ? 70 : 40)} ${e.ms.toFixed(1).padStart(9)} ms ${String(e.n).padStart(5)}× ${((100 * e.ms) / total).toFixed(1).padStart(5)}%`,
  );
}
process.exit(0);
