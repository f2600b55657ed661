/**
 * Tuning the attention family per adapter (issue 28): the variants that run on this adapter at a
 * step's attention shape are each compiled and checked against a float64 attention on a small shape
 * of the same heads, kv heads and head size (a variant that does not compile or fails the check is
 * excluded, with why), then timed at the step's shape, forward and backward (dq and dk/dv), and the
 * fastest is remembered under attentionTuneKey in memory and the tune store, where the step's
 * launches find it (resolveAttentionVariant).
 */
import { KernelCheckError } from '../errors.ts';
import type { Runtime, Tensor } from '../runtime.ts';
import type { AttentionPattern } from '../../util/attention-pattern.ts';
import { Rng } from '../../util/rng.ts';
import {
  attentionBackward,
  attentionForward,
  attentionPipelines,
  attentionSpec,
  attentionTuneKey,
  attentionVariant,
  attentionWorkspace,
  type AttentionConfig,
  type AttentionVariant,
} from './attention.ts';
import { autotune, knownChoice, type AutotuneOptions } from './autotune.ts';
import { ATTENTION, variantNames, variantRuns } from './registry.ts';

/** A step's attention: T tokens (queries and keys), heads, kv heads, head size, pattern, group. */
export interface AttentionTuneShape {
  T: number;
  H: number;
  KV: number;
  hd: number;
  pattern: AttentionPattern;
  /** Group size for s2 and s2roll (T for full). */
  group: number;
}

/** What a tuning pass decided for one attention shape. */
export interface AttentionTuneResult {
  key: string;
  choice: AttentionVariant;
  /** 'default': not timed (the time ran out); the registry's rule stands and nothing is stored. */
  source: 'timed' | 'memory' | 'store' | 'default';
  /** Median ms of forward + backward of each candidate timed now. */
  timings: Record<string, number>;
  /** Candidates left out, with why: they did not compile, or failed the float64 check. */
  excluded?: Record<string, string>;
  /** Candidates not checked or timed: the time ran out, or `why`. */
  untimed?: string[];
  /** Why the candidates were not timed, where it was not the time running out. */
  why?: string;
  /** Tokens the candidates were timed at, where the step's shape was cut to ATTENTION_TUNE_BYTES. */
  timedAt?: number;
}

/** Options of tuneAttention. */
export interface AttentionTuneOptions extends AutotuneOptions {
  /** performance.now() after which no further candidate is checked (the rest stay untimed). */
  deadline?: number;
  /** The candidates (default: every variant that runs here, the default first). */
  variants?: AttentionVariant[];
}

/** Bytes of the tensors a timing run allocates at most; longer steps are timed at fewer tokens. */
export const ATTENTION_TUNE_BYTES = 512 * 2 ** 20;

/** Queries and keys of the float64 check (s2, s2roll: 4 groups of 18, tiles left partial). */
const CHECK_N = 72;
const CHECK_G = 18;

/** The call of a tuning shape at T tokens. */
function configAt(s: AttentionTuneShape, T: number): AttentionConfig {
  const group = s.pattern === 'full' ? T : (s.group * T) / s.T;
  return { Tq: T, Tk: T, H: s.H, KV: s.KV, hd: s.hd, pattern: s.pattern, group };
}

/** The tensors one call allocates (q, o, dO, dq; k, v, dk, dv; lse and D). */
function callBytes(s: AttentionTuneShape, T: number): number {
  return 4 * T * (4 * s.H * s.hd + 4 * s.KV * s.hd + 2 * s.H);
}

/**
 * The tokens to time at: T, or where its tensors exceed ATTENTION_TUNE_BYTES the most that fit,
 * in whole steps that keep the pattern's count of groups (and an even group).
 */
export function attentionTuneTokens(s: AttentionTuneShape): number {
  if (callBytes(s, s.T) <= ATTENTION_TUNE_BYTES) return s.T;
  const step = s.pattern === 'full' ? 64 : 2 * Math.round(s.T / s.group);
  const fit = Math.floor(ATTENTION_TUNE_BYTES / callBytes(s, 1) / step) * step;
  return Math.max(step, fit);
}

/** Every variant that runs this head size on this adapter, the default first; never an emulation. */
export function attentionCandidates(rt: Runtime, hd: number): AttentionVariant[] {
  const first = attentionVariant(rt, hd);
  const runs = variantNames(ATTENTION).filter((v) => {
    const spec = attentionSpec(v)!;
    return !spec.emulates && variantRuns(spec, rt.info, { hd });
  });
  return [first, ...runs.filter((v) => v !== first)];
}

interface Operands {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  dO: Tensor;
  o: Tensor;
  lse: Tensor;
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  ws: Tensor;
}

/** Seeded operands of a call, as arrays and as tensors (category workspace). */
function operands(rt: Runtime, cfg: AttentionConfig, seed: number) {
  const { Tq, Tk, H, KV, hd } = cfg;
  const rng = new Rng(seed);
  const x = {
    q: rng.floats(Tq * H * hd, -2, 2),
    k: rng.floats(Tk * KV * hd, -2, 2),
    v: rng.floats(Tk * KV * hd),
    dO: rng.floats(Tq * H * hd),
  };
  const t = (shape: number[], label: string, data?: Float32Array) =>
    rt.tensor(shape, 'f32', 'workspace', `attention tune ${label}`, data);
  const ops: Operands = {
    q: t([Tq, H, hd], 'q', x.q),
    k: t([Tk, KV, hd], 'k', x.k),
    v: t([Tk, KV, hd], 'v', x.v),
    dO: t([Tq, H, hd], 'dO', x.dO),
    o: t([Tq, H, hd], 'o'),
    lse: t([H, Tq], 'lse'),
    dq: t([Tq, H, hd], 'dq'),
    dk: t([Tk, KV, hd], 'dk'),
    dv: t([Tk, KV, hd], 'dv'),
    ws: attentionWorkspace(rt, cfg),
  };
  return { x, ops };
}

/** Records a step's attention: the forward, then the backward from its o and lse. */
function record(rt: Runtime, cfg: AttentionConfig, t: Operands): void {
  attentionForward(rt, t.q, t.k, t.v, t.o, t.lse, cfg);
  attentionBackward(rt, t.q, t.k, t.v, t.o, t.lse, t.dO, t.dq, t.dk, t.dv, cfg, t.ws);
}

function destroy(t: Operands): void {
  for (const x of Object.values(t)) x.destroy();
}

/**
 * Why `variant` cannot be chosen for shape `s` — it does not compile, or its forward and backward
 * on a small shape of the same heads and head size differ from a float64 attention — or null.
 */
export async function attentionCheck(
  rt: Runtime,
  s: AttentionTuneShape,
  variant: AttentionVariant,
): Promise<string | null> {
  const N = CHECK_N;
  const cfg: AttentionConfig = { ...configAt(s, N), group: s.pattern === 'full' ? N : CHECK_G };
  const forced = { ...cfg, variant };
  try {
    for (const p of attentionPipelines(rt, forced)) await rt.compile(p.shader, 'main', p.constants);
  } catch (e) {
    return `did not compile: ${firstLine(e)}`;
  }
  const { x, ops } = operands(rt, cfg, 7 * s.hd + s.H);
  try {
    record(rt, forced, ops);
    const got = {
      o: await rt.read(ops.o),
      lse: await rt.read(ops.lse),
      dq: await rt.read(ops.dq),
      dk: await rt.read(ops.dk),
      dv: await rt.read(ops.dv),
    };
    const want = attention64(cfg, x);
    for (const [name, atol] of [
      ['o', 1e-5],
      ['lse', 1e-5],
      ['dq', 1e-4],
      ['dk', 1e-4],
      ['dv', 1e-4],
    ] as const) {
      const bad = mismatch(got[name], want[name], atol);
      if (bad) return `failed the float64 check: ${name}${bad}`;
    }
    return null;
  } catch (e) {
    return `failed to run: ${firstLine(e)}`;
  } finally {
    destroy(ops);
  }
}

/**
 * Tunes attention for a step's shape on this adapter: the remembered choice (memory, then the
 * store) unless opts.force; else every candidate checked (attentionCheck; the excluded ones with
 * why), the rest timed at the step's shape (attentionTuneTokens) forward and backward, and the
 * fastest remembered. Past opts.deadline no candidate is checked: the default stands, unstored.
 */
export async function tuneAttention(
  rt: Runtime,
  s: AttentionTuneShape,
  opts: AttentionTuneOptions = {},
): Promise<AttentionTuneResult> {
  const key = attentionTuneKey(rt, configAt(s, s.T));
  const candidates = (opts.variants ?? attentionCandidates(rt, s.hd)).filter((v) =>
    variantRuns(ATTENTION.variants[v], rt.info, { hd: s.hd }),
  );
  if (!opts.force) {
    const known = await knownChoice(key, new Set(candidates));
    if (known) return { key, ...known, choice: known.choice as AttentionVariant };
  }
  const excluded: Record<string, string> = {};
  const passed: AttentionVariant[] = [];
  for (const [i, v] of candidates.entries()) {
    if (opts.deadline !== undefined && performance.now() > opts.deadline) {
      const untimed = candidates.slice(i);
      const choice = attentionVariant(rt, s.hd);
      return { key, choice, source: 'default', timings: {}, untimed, ...some(excluded) };
    }
    const why = await attentionCheck(rt, s, v);
    if (why) excluded[v] = why;
    else passed.push(v);
  }
  if (passed.length === 0) {
    const whys = Object.entries(excluded).map(([v, why]) => `${v} ${why}`);
    throw new KernelCheckError(`attention ${key}: no variant passed (${whys.join('; ')})`);
  }
  const T = attentionTuneTokens(s);
  const cfg = configAt(s, T);
  const { ops } = operands(rt, cfg, T);
  try {
    const r = await autotune(
      rt,
      key,
      passed.map((variant) => ({ name: variant, run: () => record(rt, { ...cfg, variant }, ops) })),
      { ...opts, force: true },
    );
    const choice = r.choice as AttentionVariant;
    const cut = T < s.T ? { timedAt: T } : {};
    return { key, choice, source: 'timed', timings: r.timings, ...some(excluded), ...cut };
  } finally {
    destroy(ops);
  }
}

function some(excluded: Record<string, string>): { excluded?: Record<string, string> } {
  return Object.keys(excluded).length ? { excluded } : {};
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** Where got differs from want by more than atol + 1e-3·|want|: the index and both values. */
function mismatch(got: Float32Array, want: Float64Array, atol: number): string | null {
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= atol + 1e-3 * Math.abs(want[i]!))) return `[${i}] ${got[i]} (float64 ${want[i]})`;
  }
  return null;
}

/**
 * Attention forward (o, lse) and backward (dq, dk, dv from its own o and lse) in float64, Tq = Tk =
 * N, written from the pattern rules (docs/longlora.md), for the check above.
 */
function attention64(
  cfg: AttentionConfig,
  x: { q: Float32Array; k: Float32Array; v: Float32Array; dO: Float32Array },
) {
  const { Tk: N, H, KV, hd, pattern } = cfg;
  const G = cfg.group ?? N;
  const R = H / KV;
  const scale = 1 / Math.sqrt(hd);
  const half = G / 2;
  const rolled = (i: number) => (i - half + N) % N;
  const sees = (i: number, j: number, h: number): boolean => {
    if (pattern === 'full') return j <= i;
    if (h < Math.floor(H / 2)) return Math.floor(i / G) === Math.floor(j / G) && j <= i;
    if (pattern === 's2')
      return Math.floor((i + half) / G) === Math.floor((j + half) / G) && j <= i;
    const [ri, rj] = [rolled(i), rolled(j)];
    return Math.floor(ri / G) === Math.floor(rj / G) && rj <= ri;
  };
  const dot = (a: Float32Array, ai: number, b: Float32Array, bi: number) => {
    let s = 0;
    for (let d = 0; d < hd; d++) s += a[ai + d]! * b[bi + d]!;
    return s;
  };
  const out = {
    o: new Float64Array(N * H * hd),
    lse: new Float64Array(H * N),
    dq: new Float64Array(N * H * hd),
    dk: new Float64Array(N * KV * hd),
    dv: new Float64Array(N * KV * hd),
  };
  for (let h = 0; h < H; h++) {
    const c = Math.floor(h / R);
    for (let i = 0; i < N; i++) {
      const qi = (i * H + h) * hd;
      const keys: number[] = [];
      const s: number[] = [];
      for (let j = 0; j < N; j++) {
        if (!sees(i, j, h)) continue;
        keys.push(j);
        s.push(scale * dot(x.q, qi, x.k, (j * KV + c) * hd));
      }
      const m = Math.max(...s);
      const l = s.reduce((sum, sj) => sum + Math.exp(sj - m), 0);
      const lse = m + Math.log(l);
      out.lse[h * N + i] = lse;
      const p = s.map((sj) => Math.exp(sj - lse));
      keys.forEach((j, n) => {
        for (let d = 0; d < hd; d++) out.o[qi + d]! += p[n]! * x.v[(j * KV + c) * hd + d]!;
      });
      let D = 0;
      for (let d = 0; d < hd; d++) D += x.dO[qi + d]! * out.o[qi + d]!;
      keys.forEach((j, n) => {
        const kj = (j * KV + c) * hd;
        const ds = p[n]! * (dot(x.dO, qi, x.v, kj) - D);
        for (let d = 0; d < hd; d++) {
          out.dq[qi + d]! += scale * ds * x.k[kj + d]!;
          out.dk[kj + d]! += scale * ds * x.q[qi + d]!;
          out.dv[kj + d]! += p[n]! * x.dO[qi + d]!;
        }
      });
    }
  }
  return out;
}
