/**
 * Attention benchmark: forward + backward time of full causal attention against LongLoRA's s2
 * (G = N/4) at growing context, and the bytes the call allocates (linear in N: no N×N buffer).
 */
import { ATTENTION, variantRuns } from '../src/engine/kernels/registry.ts';
import {
  attentionBackward,
  attentionForward,
  attentionSpec,
  attentionVariant,
  attentionWorkspace,
  type AttentionConfig,
  type AttentionVariant,
} from '../src/engine/kernels/attention.ts';
import type { Runtime } from '../src/engine/runtime.ts';
import { totalBytes } from '../src/engine/memory.ts';
import { Rng } from '../src/util/rng.ts';
import { median } from '../src/engine/kernels/autotune.ts';
import type { Log } from './types.ts';

/** One row of the `attention` section. */
export interface AttentionRow {
  n: number;
  heads: number;
  kv_heads: number;
  head_dim: number;
  group: number;
  /**
   * Kernel variant timed. CPU adapters: their default ('direct') at every size, and every variant
   * that runs there (tiled, fa2, fa2_sg with subgroups, forced) at the first, moderate size, for
   * the ratios; GPUs: each that runs.
   */
  variant: AttentionVariant;
  /** Median ms of forward + backward, full causal attention. */
  full_ms: number;
  /** The same with pattern s2 at group G = N/4. */
  s2_ms: number;
  /** s2_ms / full_ms (LongLoRA's claim: about 1/4 of the causal work). */
  ratio: number;
  /** Bytes of the call's tensors (q, k, v, o, lse, dO, dq, dk, dv, workspace); no pattern changes them. */
  full_bytes: number;
  s2_bytes: number;
}

/** Shapes of the run; the defaults are a small Llama's attention (8 query heads, 4 kv heads). */
export interface AttentionBenchOptions {
  sizes?: number[];
  heads?: number;
  kvHeads?: number;
  headDim?: number;
}

/** Default shapes: 8/4 heads of 64 on a GPU; SwiftShader (CPU) gets 2/1 heads of 16 (minutes, not hours). */
export function defaultAttentionBench(rt: Runtime): Required<AttentionBenchOptions> {
  return rt.info.isSoftware
    ? { sizes: [1024, 2048, 4096], heads: 2, kvHeads: 1, headDim: 16 }
    : { sizes: [1024, 4096, 8192], heads: 32, kvHeads: 4, headDim: 64 };
}

/**
 * Times forward + backward of each config (same shapes, different patterns) in alternation, so a
 * load change on a shared machine hits all alike. Returns the median ms per config and the bytes the
 * call's tensors take (q, k, v, o, lse, dO, dq, dk, dv and the workspace; the same for every pattern).
 * Over a second per run (SwiftShader at large N), one run each is the measurement.
 */
async function measure(
  rt: Runtime,
  cfgs: AttentionConfig[],
  seed: number,
): Promise<{ ms: number[]; bytes: number }> {
  const { Tq, Tk, H, KV, hd } = cfgs[0]!;
  const rng = new Rng(seed);
  const before = totalBytes(rt.memory.snapshot().current);
  const act = (shape: number[], label: string, data?: Float32Array) =>
    rt.tensor(shape, 'f32', 'activations', `bench ${label}`, data);
  const q = act([Tq, H, hd], 'q', rng.floats(Tq * H * hd));
  const k = act([Tk, KV, hd], 'k', rng.floats(Tk * KV * hd));
  const v = act([Tk, KV, hd], 'v', rng.floats(Tk * KV * hd));
  const g = act([Tq, H, hd], 'dO', rng.floats(Tq * H * hd));
  const o = act([Tq, H, hd], 'o');
  const lse = act([H, Tq], 'lse');
  const dq = act([Tq, H, hd], 'dq');
  const dk = act([Tk, KV, hd], 'dk');
  const dv = act([Tk, KV, hd], 'dv');
  const ws = attentionWorkspace(rt, cfgs[0]!);
  const bytes = totalBytes(rt.memory.snapshot().current) - before;
  const times: number[][] = cfgs.map(() => []);
  for (let round = 0; round < 5; round++) {
    for (const [c, cfg] of cfgs.entries()) {
      const t0 = performance.now();
      attentionForward(rt, q, k, v, o, lse, cfg);
      attentionBackward(rt, q, k, v, o, lse, g, dq, dk, dv, cfg, ws);
      await rt.sync();
      times[c]!.push(performance.now() - t0);
    }
    if (times[0]![0]! > 1000) break;
  }
  for (const t of [q, k, v, g, o, lse, dq, dk, dv, ws]) t.destroy();
  // Several rounds: the first may carry first-use costs, so it is dropped.
  return { ms: times.map((t) => median(t.length > 1 ? t.slice(1) : t)), bytes };
}

/** Runs the attention section. */
export async function run(
  rt: Runtime,
  log: Log,
  opts: AttentionBenchOptions = {},
): Promise<{ attention: AttentionRow[] }> {
  const o = { ...defaultAttentionBench(rt), ...opts };
  const rows: AttentionRow[] = [];
  // Every variant that runs the head size on this adapter (fa2_sg needs subgroups): a GPU times
  // each at every size; a CPU adapter (where the workgroup-memory kernels are far slower,
  // SwiftShader emulating barriers) times its default at every size and the others at the first
  // size only, for the ratios.
  // Never an emulation (sgmatrix_emu: the subgroup-matrix body checked without the feature).
  const fitting = (Object.keys(ATTENTION.variants) as AttentionVariant[]).filter(
    (v) =>
      !attentionSpec(v)!.emulates && variantRuns(ATTENTION.variants[v], rt.info, { hd: o.headDim }),
  );
  const preferred = attentionVariant(rt, o.headDim);
  const variantsAt = (n: number): AttentionVariant[] =>
    !rt.info.isSoftware || n === o.sizes[0]
      ? [preferred, ...fitting.filter((v) => v !== preferred)]
      : [preferred];
  const variants = variantsAt(o.sizes[0]!);
  // Compile every pipeline (each family, both patterns) on a tiny problem first, so no large run
  // is spent as a warm-up.
  for (const variant of variants) {
    const tiny = { Tq: 64, Tk: 64, H: o.heads, KV: o.kvHeads, hd: o.headDim, variant };
    await measure(
      rt,
      [
        { ...tiny, pattern: 'full' },
        { ...tiny, pattern: 's2', group: 16 },
      ],
      1,
    );
  }
  for (const n of o.sizes) {
    for (const variant of variantsAt(n)) {
      const base = { Tq: n, Tk: n, H: o.heads, KV: o.kvHeads, hd: o.headDim, variant };
      const group = n / 4;
      const { ms, bytes } = await measure(
        rt,
        [
          { ...base, pattern: 'full' },
          { ...base, pattern: 's2', group },
        ],
        n,
      );
      const [full_ms, s2_ms] = ms as [number, number];
      const row: AttentionRow = {
        n,
        heads: o.heads,
        kv_heads: o.kvHeads,
        head_dim: o.headDim,
        group,
        variant,
        full_ms: round(full_ms),
        s2_ms: round(s2_ms),
        ratio: round(s2_ms / full_ms, 3),
        full_bytes: bytes,
        s2_bytes: bytes,
      };
      rows.push(row);
      log(
        `attention (${row.variant}) N=${n} H=${o.heads}/${o.kvHeads} d=${o.headDim} G=${group}: full ${row.full_ms} ms, ` +
          `s2 ${row.s2_ms} ms (ratio ${row.ratio}), ${(bytes / 2 ** 20).toFixed(2)} MiB`,
      );
    }
  }
  return { attention: rows };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
