/**
 * Text generation with a KV cache and full causal attention: prefill the prompt, then one token at a
 * time. Sampling (greedy, temperature, top-p) happens on the CPU from one row of logits per step.
 */
import { attentionForward } from '../engine/kernels/attention.ts';
import { logitsForward } from '../engine/kernels/cross_entropy.ts';
import { addInto, swigluForward } from '../engine/kernels/elementwise.ts';
import { embeddingForward } from '../engine/kernels/embedding.ts';
import { loraForward } from '../engine/kernels/lora.ts';
import { linearForward } from '../engine/kernels/matmul.ts';
import { rmsnormForward } from '../engine/kernels/rmsnorm.ts';
import { ropeForward } from '../engine/kernels/rope.ts';
import type { Runtime, Tensor } from '../engine/runtime.ts';
import { Rng } from '../util/rng.ts';
import type { LlamaModel } from './llama.ts';
import { linearShape, type LinearName } from './types.ts';

export interface SampleOptions {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  /** Stop at this id (usually EOS). */
  stopId?: number;
  ropeFactor: number;
  onToken?: (id: number) => void;
}

/** Picks the next id from logits: argmax at temperature 0, else top-p sampling. */
export function sampleToken(
  logits: Float32Array,
  temperature: number,
  topP: number,
  rng: Rng,
): number {
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  const probs = Array.from(logits, (l, i) => ({ i, p: Math.exp((l - max) / temperature) }));
  const z = probs.reduce((s, x) => s + x.p, 0);
  probs.sort((a, b) => b.p - a.p);
  const kept: typeof probs = [];
  let mass = 0;
  for (const x of probs) {
    kept.push(x);
    mass += x.p / z;
    if (mass >= topP) break;
  }
  const keptZ = kept.reduce((s, x) => s + x.p, 0);
  let u = rng.next() * keptZ;
  for (const x of kept) {
    u -= x.p;
    if (u <= 0) return x.i;
  }
  return kept[kept.length - 1]!.i;
}

/** Generates continuations of a prompt with a model's current parameters (LoRA included). */
export async function generate(
  model: LlamaModel,
  prompt: number[],
  o: SampleOptions,
): Promise<number[]> {
  const s = model.shape;
  const maxT = prompt.length + o.maxNewTokens;
  if (prompt.length === 0) throw new Error('generate needs at least one prompt token (BOS)');
  const rt = model.rt;
  const Hkv = s.kvHeads * s.headDim;
  const kCache: Tensor[] = [];
  const vCache: Tensor[] = [];
  for (let l = 0; l < s.layers; l++) {
    kCache.push(rt.tensor([maxT, Hkv], 'f32', 'activations', `k cache ${l}`));
    vCache.push(rt.tensor([maxT, Hkv], 'f32', 'activations', `v cache ${l}`));
  }
  const rng = new Rng(o.seed);
  const out: number[] = [];
  let scratch: Scratch | null = null;
  try {
    let pending = prompt;
    let offset = 0;
    for (let step = 0; step < o.maxNewTokens; step++) {
      if (!scratch || scratch.T !== pending.length) {
        scratch?.destroy();
        scratch = new Scratch(rt, model, pending.length);
      }
      const logits = await runTokens(model, scratch, pending, offset, kCache, vCache, o.ropeFactor);
      const id = sampleToken(logits, o.temperature, o.topP, rng);
      out.push(id);
      o.onToken?.(id);
      if (id === o.stopId) break;
      offset += pending.length;
      pending = [id];
    }
  } finally {
    scratch?.destroy();
    for (const t of [...kCache, ...vCache]) t.destroy();
  }
  return out;
}

class Scratch {
  readonly t: Record<string, Tensor> = {};
  readonly xa: Tensor;
  constructor(
    readonly rt: Runtime,
    model: LlamaModel,
    readonly T: number,
  ) {
    const s = model.shape;
    const D = s.hidden;
    const Hq = s.heads * s.headDim;
    const Hkv = s.kvHeads * s.headDim;
    const F = s.intermediate;
    const dims: Record<string, number[]> = {
      ids: [T],
      h: [T, D],
      h2: [T, D],
      xn: [T, D],
      rstd: [T],
      q: [T, Hq],
      k: [T, Hkv],
      v: [T, Hkv],
      attn: [T, Hq],
      lse: [s.heads, T],
      gate: [T, F],
      up: [T, F],
      act: [T, F],
      last: [1, D],
      logits: [1, s.vocabSize],
    };
    for (const [k, shape] of Object.entries(dims)) {
      this.t[k] = rt.tensor(shape, k === 'ids' ? 'u32' : 'f32', 'workspace', `gen ${k}`);
    }
    this.xa = rt.tensor([T, model.params.lora.rank], 'f32', 'workspace', 'gen xa');
  }

  destroy(): void {
    for (const t of Object.values(this.t)) t.destroy();
    this.xa.destroy();
  }
}

async function runTokens(
  model: LlamaModel,
  sc: Scratch,
  ids: number[],
  offset: number,
  kCache: Tensor[],
  vCache: Tensor[],
  ropeFactor: number,
): Promise<Float32Array> {
  const rt = model.rt;
  const s = model.shape;
  const p = model.params;
  const T = ids.length;
  const D = s.hidden;
  const Hkv = s.kvHeads * s.headDim;
  const t = sc.t as Record<string, Tensor>;
  const inv = model.invFreqFor(ropeFactor);
  const lin = (l: number, n: LinearName, x: Tensor, y: Tensor) => {
    const [out, inF] = linearShape(s, n);
    const layer = p.layers[l]!;
    linearForward(rt, x, layer.w[n], y, T, inF, out);
    const pair = layer.lora[n];
    if (pair)
      loraForward(
        rt,
        x,
        pair.A,
        pair.B,
        sc.xa,
        y,
        T,
        inF,
        out,
        p.lora.rank,
        p.lora.alpha / p.lora.rank,
      );
  };
  rt.write(t.ids!, new Uint32Array(ids));
  embeddingForward(rt, t.ids!, p.embed, t.h!, T, D);
  for (let l = 0; l < s.layers; l++) {
    const layer = p.layers[l]!;
    rmsnormForward(rt, t.h!, layer.inputNorm, t.xn!, t.rstd!, T, D, s.rmsEps);
    lin(l, 'q_proj', t.xn!, t.q!);
    lin(l, 'k_proj', t.xn!, t.k!);
    lin(l, 'v_proj', t.xn!, t.v!);
    ropeForward(rt, t.q!, inv, T, s.heads, s.headDim, offset);
    ropeForward(rt, t.k!, inv, T, s.kvHeads, s.headDim, offset);
    rt.copy(t.k!, kCache[l]!, T * Hkv * 4, 0, offset * Hkv * 4);
    rt.copy(t.v!, vCache[l]!, T * Hkv * 4, 0, offset * Hkv * 4);
    attentionForward(rt, t.q!, kCache[l]!, vCache[l]!, t.attn!, t.lse!, {
      Tq: T,
      Tk: offset + T,
      H: s.heads,
      KV: s.kvHeads,
      hd: s.headDim,
      pattern: 'full',
      qOffset: offset,
    });
    lin(l, 'o_proj', t.attn!, t.h2!);
    addInto(rt, t.h2!, t.h!, T * D);
    rmsnormForward(rt, t.h2!, layer.postNorm, t.xn!, t.rstd!, T, D, s.rmsEps);
    lin(l, 'gate_proj', t.xn!, t.gate!);
    lin(l, 'up_proj', t.xn!, t.up!);
    swigluForward(rt, t.gate!, t.up!, t.act!, T * s.intermediate);
    lin(l, 'down_proj', t.act!, t.h!);
    addInto(rt, t.h!, t.h2!, T * D);
  }
  rmsnormForward(rt, t.h!, p.norm, t.xn!, t.rstd!, T, D, s.rmsEps);
  rt.copy(t.xn!, t.last!, D * 4, (T - 1) * D * 4, 0);
  logitsForward(rt, t.last!, p.lmHead, t.logits!, 1, D, s.vocabSize);
  return rt.read(t.logits!);
}
