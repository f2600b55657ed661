/**
 * `longlora tune`: times the attention and matmul variants at a model's shapes and caches the
 * choices; lists the kernel every family of a training step runs (engine/kernels/registry.ts).
 */
import type { KernelChoice } from '../engine/kernels/registry.ts';
import { attentionProblem, defaultTargetContext, groupSize } from '../model/longlora.ts';
import { stepKernels } from '../model/step-kernels.ts';
import {
  tuneModelOfOpened,
  tuneStepKernels,
  type AttentionTuneChoice,
  type TuneChoice,
} from '../model/tune.ts';
import { tuneCachePath } from '../engine/tune-store-node.ts';
import { b, num, parse, req, s, UsageError } from './args.ts';
import {
  attentionArg,
  BASE_QUANT_OPTION,
  baseQuantArg,
  CAP_OPTIONS,
  capsArg,
  gpu,
  log,
  loraFromArgs,
  openModelArg,
} from './common.ts';

/** A table row of one shape class's choice. */
function row(c: TuneChoice): string {
  const t = Object.entries(c.timings)
    .map(([k, ms]) => `${k} ${ms.toFixed(2)} ms`)
    .join(', ');
  const shape = `${c.op} ${c.dtype} ${c.M}×${c.N}×${c.K}`;
  const screen = Object.entries(c.screen ?? {})
    .map(([k, ms]) => `${k} ${ms.toFixed(2)}`)
    .join(', ');
  // A candidate whose pipeline did not compile (a hardware path this driver refuses), on one line.
  const excluded = Object.entries(c.excluded ?? {}).map(
    ([k, why]) => `${k}: ${why.replace(/\s*\n\s*/g, ' ')}`,
  );
  return (
    `${shape.padEnd(32)} ${c.choice.padEnd(9)} ${c.source.padEnd(7)} ${c.what}` +
    (t ? ` — ${t}` : '') +
    (screen ? ` (screened at 64 rows, ms: ${screen})` : '') +
    (c.rejected?.length ? ` (rejected: ${c.rejected.join(', ')})` : '') +
    (excluded.length ? ` (excluded: ${excluded.join('; ')})` : '')
  );
}

/** The attention line: its shape, choice, source, each candidate's time and what was excluded. */
function attentionRow(a: AttentionTuneChoice): string {
  const t = Object.entries(a.timings)
    .map(([k, ms]) => `${k} ${ms.toFixed(2)} ms`)
    .join(', ');
  const shape = `${a.pattern}${a.pattern === 'full' ? '' : ` G ${a.group}`} ${a.T} tokens`;
  const heads = `${a.H}/${a.KV} heads of ${a.hd}`;
  const excluded = Object.entries(a.excluded ?? {}).map(([k, why]) => `${k}: ${why}`);
  return (
    `attention ${shape}, ${heads}: ${a.choice} (${a.source})` +
    (t ? ` — forward + backward ${t}` : '') +
    (a.timedAt ? ` (timed at ${a.timedAt} tokens)` : '') +
    (excluded.length ? ` (excluded: ${excluded.join('; ')})` : '') +
    (a.untimed?.length ? ` (not timed: ${a.untimed.join(', ')}: ${a.why ?? 'out of time'})` : '')
  );
}

/** A line of the families' table: a family and its variant(s), each with its source. */
function familyRows(kernels: readonly KernelChoice[]): string[] {
  const families = [...new Set(kernels.map((k) => k.family))];
  return families.map((f) => {
    const vs = kernels
      .filter((k) => k.family === f)
      .map((k) => {
        const how = [k.source, ...(k.classes ? [`${k.classes} classes`] : [])].join(', ');
        return `${k.variant} (${how}: ${k.files.join(', ')})`;
      });
    return `${f.padEnd(24)} ${vs.join('; ')}`;
  });
}

/**
 * `tune --model MODEL [--context N] [--attention s2|s2roll|full] [--group-size G] [--base-quant
 * none|q8_0|q4_k] [--force] [--json]`: the step's attention and every matmul shape class a training
 * step at N tokens launches, the chosen variant and, when timed now, each candidate's median time
 * (and for attention, the candidates excluded and why); then every kernel family the step launches
 * and its variant (`kernels`). Choices are cached per adapter in the user's cache folder and used
 * by `train` and `eval`.
 */
export async function tune(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...CAP_OPTIONS,
    ...BASE_QUANT_OPTION,
    model: s,
    context: s,
    rank: s,
    alpha: s,
    targets: s,
    trainable: s,
    attention: s,
    'group-size': s,
    force: b,
    json: b,
  });
  const baseQuant = baseQuantArg(v);
  const m = await openModelArg(req(v, 'model'));
  const context = num(v, 'context', defaultTargetContext(m.config));
  const pattern = attentionArg(v, 's2');
  const group = num(v, 'group-size', groupSize(context, pattern));
  const problem = attentionProblem(context, pattern, group);
  if (problem) throw new UsageError(problem);
  const rt = await gpu(capsArg(v));
  const t0 = performance.now();
  // Frozen weights in the GPU types a run would upload them in (--base-quant, a GGUF's blocks).
  const model = tuneModelOfOpened(m, loraFromArgs(v), baseQuant, rt.info.limits);
  const { attention, matmul: choices } = await tuneStepKernels(rt, model, context, {
    attention: { pattern, group },
    force: v.force === true,
    onProgress: (p) => {
      if (p.current) log(`tuning ${p.done + 1}/${p.total}: ${p.current}`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const kernels = stepKernels(rt, model, context, choices, { pattern, group });
  if (v.json) {
    const out = { adapter: rt.info.name, cache: tuneCachePath(), context, seconds };
    console.log(JSON.stringify({ ...out, kernels, attention, choices }, null, 2));
    return;
  }
  console.log(`adapter: ${rt.info.name}; context ${context}; cache ${tuneCachePath()}`);
  console.log(
    `${'shape (op dtype M×N×K)'.padEnd(32)} ${'variant'.padEnd(9)} ${'source'.padEnd(7)} used by`,
  );
  for (const c of choices) console.log(row(c));
  const timed = choices.filter((c) => c.source === 'timed').length;
  console.log(`${choices.length} shape classes, ${timed} timed now, in ${seconds.toFixed(1)} s`);
  if (attention) console.log(attentionRow(attention));
  console.log(`\n${'kernel family'.padEnd(24)} variant (source: shader files) in a training step`);
  for (const line of familyRows(kernels)) console.log(line);
}
