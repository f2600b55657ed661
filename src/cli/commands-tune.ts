/**
 * `longlora tune`: times the matmul variants at a model's shapes and caches the choices; lists the
 * kernel every family of a training step runs (engine/kernels/registry.ts).
 */
import type { KernelChoice } from '../engine/kernels/registry.ts';
import { defaultTargetContext } from '../model/longlora.ts';
import { stepKernels } from '../model/step-kernels.ts';
import { tuneModelKernels, tuneModelOfOpened, type TuneChoice } from '../model/tune.ts';
import { tuneCachePath } from '../engine/tune-store-node.ts';
import { b, num, parse, req, s } from './args.ts';
import {
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
  return (
    `${shape.padEnd(32)} ${c.choice.padEnd(9)} ${c.source.padEnd(7)} ${c.what}` +
    (t ? ` — ${t}` : '') +
    (screen ? ` (screened at 64 rows, ms: ${screen})` : '') +
    (c.rejected?.length ? ` (rejected: ${c.rejected.join(', ')})` : '')
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
 * `tune --model MODEL [--context N] [--base-quant none|q8_0|q4_k] [--force] [--json]`: every matmul shape class a training step
 * at N tokens launches, its chosen variant and, when timed now, each candidate's median time; then
 * every kernel family the step launches and its variant (`kernels`). Choices are cached per adapter
 * in the user's cache folder and used by `train` and `eval`.
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
    force: b,
    json: b,
  });
  const baseQuant = baseQuantArg(v);
  const m = await openModelArg(req(v, 'model'));
  const context = num(v, 'context', defaultTargetContext(m.config));
  const rt = await gpu(capsArg(v));
  const t0 = performance.now();
  // Frozen weights in the GPU types a run would upload them in (--base-quant, a GGUF's blocks).
  const model = tuneModelOfOpened(m, loraFromArgs(v), baseQuant, rt.info.limits);
  const choices = await tuneModelKernels(rt, model, context, {
    force: v.force === true,
    onProgress: (p) => {
      if (p.current) log(`tuning ${p.done + 1}/${p.total}: ${p.current}`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const kernels = stepKernels(rt, model, context, choices);
  if (v.json) {
    console.log(
      JSON.stringify(
        { adapter: rt.info.name, cache: tuneCachePath(), context, seconds, kernels, choices },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`adapter: ${rt.info.name}; context ${context}; cache ${tuneCachePath()}`);
  console.log(
    `${'shape (op dtype M×N×K)'.padEnd(32)} ${'variant'.padEnd(9)} ${'source'.padEnd(7)} used by`,
  );
  for (const c of choices) console.log(row(c));
  const timed = choices.filter((c) => c.source === 'timed').length;
  console.log(`${choices.length} shape classes, ${timed} timed now, in ${seconds.toFixed(1)} s`);
  console.log(`\n${'kernel family'.padEnd(24)} variant (source: shader files) in a training step`);
  for (const line of familyRows(kernels)) console.log(line);
}
