/**
 * Quantized matmul benchmark (issue 26 item 2): the linear forward and input gradient with a frozen
 * weight in each ggml type, dequantized inside the kernel (matmul-quant.ts), against the same
 * product with the weight in packed bf16 (matmul.ts) at the same shape, on the same adapter. For
 * each op, shape and weight it times every variant tuning would time and keeps the fastest; each
 * quantized row's `vs_bf16` is its ms over bf16's fastest (the target: ≤ 1.3). Times are the
 * fastest of interleaved rounds after a warm-up (on a shared machine minima are steadier);
 * in Node `cpu_ms` is the least CPU time of the process for a run (SwiftShader runs kernels on CPU
 * threads, so CPU time is what another process's load disturbs least), and `vs_bf16_cpu` its ratio.
 */
import {
  linearBackwardInput,
  linearForward,
  tuneCandidates,
  variantSupported,
  type LinearOp,
} from '../src/engine/kernels/matmul.ts';
import {
  linearBackwardInputQuant,
  linearForwardQuant,
  quantTuneCandidates,
  quantVariantSupported,
  uploadQuantWeight,
} from '../src/engine/kernels/matmul-quant.ts';
import { GPU_QUANT_TYPES, randomQuantBlocks } from '../src/engine/kernels/quant-layout.ts';
import type { Runtime } from '../src/engine/runtime.ts';
import { encodeHalves } from '../src/util/half.ts';
import { Rng } from '../src/util/rng.ts';
import type { BenchSections, Log } from './types.ts';

/** [T, in, out]: a square projection and a wide one (an MLP's up-projection shape), 64 tokens. */
const SHAPES: [number, number, number][] = [
  [64, 1024, 1024],
  [64, 512, 2048],
];
/** On a GPU: 2k tokens through TinyLlama-sized projections. */
const GPU_SHAPES: [number, number, number][] = [
  [2048, 2048, 2048],
  [2048, 2048, 5632],
];
/** Interleaved timing rounds after the warm-up. */
const ROUNDS = 9;

/** One row of the `matmul_quant` section. */
export interface QuantRow {
  op: LinearOp;
  T: number;
  in: number;
  out: number;
  /** 'bf16' or the ggml type. */
  weight: string;
  /** The fastest variant. */
  variant: string;
  ms: number;
  /** The least CPU ms of the process for a run of the fastest variant (Node only). */
  cpu_ms: number | null;
  /** ms over bf16's fastest at the same op and shape. */
  vs_bf16: number;
  vs_bf16_cpu: number | null;
  /** Every variant timed, "name ms". */
  variants: string;
}

const cpuNow = (): number | null => {
  if (typeof process === 'undefined' || !process.cpuUsage) return null;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * The fastest wall and CPU ms of each run, timed in ROUNDS interleaved rounds after two warm-ups
 * each (the first compiles its pipeline), so a burst of another process's load slows every
 * candidate alike and the minimum skips it. A run whose second warm-up took over 8× the fastest
 * one cannot win: that warm-up is its time.
 */
async function timeAll(
  rt: Runtime,
  runs: [string, () => void][],
): Promise<Record<string, [number, number | null]>> {
  const out: Record<string, [number, number | null]> = {};
  for (const [name, r] of runs) {
    r();
    await rt.sync();
    const t0 = performance.now();
    r();
    await rt.sync();
    out[name] = [performance.now() - t0, null];
  }
  const fastest = Math.min(...Object.values(out).map(([ms]) => ms));
  const timed = runs.filter(([name]) => out[name]![0] <= 8 * fastest);
  for (const [name] of timed) out[name] = [Infinity, null];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, r] of timed) {
      const c0 = cpuNow();
      const t0 = performance.now();
      r();
      await rt.sync();
      const ms = performance.now() - t0;
      const c1 = cpuNow();
      const cpu = c0 === null || c1 === null ? null : c1 - c0;
      const [best, bestCpu] = out[name]!;
      out[name] = [Math.min(ms, best), cpu === null ? null : Math.min(cpu, bestCpu ?? Infinity)];
    }
  }
  return out;
}

/** Runs the quantized matmul section. */
export async function run(rt: Runtime, log: Log): Promise<BenchSections> {
  const rows: QuantRow[] = [];
  for (const [T, inF, outF] of rt.info.isSoftware ? SHAPES : GPU_SHAPES) {
    const rng = new Rng(T + inF + outF);
    const wValues = rng.floats(outF * inF);
    const wb = rt.tensor([outF, inF], 'bf16', 'weights', 'W bf16', encodeHalves(wValues, 'bf16'));
    const quant = GPU_QUANT_TYPES.map((t) => {
      const blocks = randomQuantBlocks(t, outF, inF, rng);
      return uploadQuantWeight(rt, t, outF, inF, blocks, 'weights', `W ${t}`);
    });
    for (const op of ['forward', 'backwardInput'] as const) {
      const [aLen, cLen] = op === 'forward' ? [inF, outF] : [outF, inF];
      const a = rt.tensor([T, aLen], 'f32', 'activations', 'bench A', rng.floats(T * aLen));
      const c = rt.tensor([T, cLen], 'f32', 'activations', 'bench C');
      const launchB = op === 'forward' ? linearForward : linearBackwardInput;
      const launchQ = op === 'forward' ? linearForwardQuant : linearBackwardInputQuant;
      // Every candidate of bf16 and of each type, timed in the same rounds.
      const runs: [string, () => void][] = tuneCandidates(T)
        .filter((v) => variantSupported(rt, v, op, 'bf16', T, cLen, aLen))
        .map((v) => [`bf16 ${v}`, () => launchB(rt, a, wb, c, T, inF, outF, { variant: v })]);
      for (const w of quant) {
        const shape = { op, quant: w.type, M: T, N: cLen, K: aLen };
        for (const v of quantTuneCandidates(w.type, T)) {
          if (!quantVariantSupported(rt, v, shape)) continue;
          runs.push([`${w.type} ${v}`, () => launchQ(rt, a, w, c, T, inF, outF, { variant: v })]);
        }
      }
      const all = await timeAll(rt, runs);
      const of = (weight: string) =>
        Object.fromEntries(
          Object.entries(all)
            .filter(([name]) => name.startsWith(`${weight} `))
            .map(([name, t]) => [name.slice(weight.length + 1), t]),
        );
      const base = add(rows, { op, T, in: inF, out: outF, weight: 'bf16' }, of('bf16'), null);
      log(`${op} T=${T} in=${inF} out=${outF}: bf16 ${fmt(base.ms)} ms (${base.variant})`);
      for (const w of quant) {
        const r = add(rows, { op, T, in: inF, out: outF, weight: w.type }, of(w.type), base);
        const cpu = r.vs_bf16_cpu === null ? '' : `, CPU ${r.vs_bf16_cpu.toFixed(2)}×`;
        log(
          `  ${w.type.padEnd(5)} ${fmt(r.ms).padStart(8)} ms  ${r.vs_bf16.toFixed(2)}× bf16${cpu}  (${r.variant})`,
        );
      }
      a.destroy();
      c.destroy();
    }
    wb.destroy();
    for (const w of quant) w.tensor.destroy();
  }
  return { matmul_quant: rows };
}

/** Appends the row of the fastest of `times` and returns it. */
function add(
  rows: QuantRow[],
  at: Pick<QuantRow, 'op' | 'T' | 'in' | 'out' | 'weight'>,
  times: Record<string, [number, number | null]>,
  base: QuantRow | null,
): QuantRow {
  const [variant, [ms, cpu]] = Object.entries(times).reduce((x, y) => (y[1][0] < x[1][0] ? y : x));
  const row: QuantRow = {
    ...at,
    variant,
    ms: round(ms),
    cpu_ms: cpu === null ? null : round(cpu),
    vs_bf16: base ? round(ms / base.ms) : 1,
    vs_bf16_cpu: base?.cpu_ms && cpu !== null ? round(cpu / base.cpu_ms) : null,
    variants: Object.entries(times)
      .map(([k, [v]]) => `${k} ${fmt(v)}`)
      .join(', '),
  };
  rows.push(row);
  return row;
}

const fmt = (ms: number) => ms.toFixed(1);
const round = (x: number) => Math.round(x * 100) / 100;
