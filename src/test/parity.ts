/**
 * Test support: turns a float64 reference model (src/reference/llama.ts) into the tensors a
 * checkpoint would hold, in a chosen storage dtype, so the GPU graph can be compared with it; and
 * the pieces the GPU parity tests share (non-zero LoRA on both sides, the expected gradients by
 * trainable name, the gradients off tolerance, next-token labels, capped runtimes, tiny datasets).
 */
import { afterAll, expect } from 'vitest';
import type { RuntimeCaps } from '../engine/device.ts';
import type { Runtime } from '../engine/runtime.ts';
import { decodeHalves, encodeHalves } from '../util/half.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import { Rng } from '../util/rng.ts';
import {
  refForwardLogits,
  type RefConfig,
  type RefGrads,
  type RefWeights,
} from '../reference/llama.ts';
import type { KvCache } from '../model/kv-cache.ts';
import type { LlamaModel } from '../model/llama.ts';
import type { LlamaParams, RawTensor, WeightSource } from '../model/params.ts';
import {
  LINEAR_NAMES,
  linearPath,
  linearShape,
  type LinearName,
  type LlamaShape,
} from '../model/types.ts';
import { biasName, linearWeightName, loraName, qkNormName } from '../io/block.ts';
import { cutBlocks, type Dataset } from '../train/data.ts';
import { cliDefaults, type RunSettings } from '../train/settings.ts';
import { cappedRuntime } from './gpu.ts';
import { expectClose, relativeError } from './numeric.ts';

export type StorageDtype = RawTensor['dtype'];

const REF_KEY: Record<LinearName, 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down'> = {
  q_proj: 'q',
  k_proj: 'k',
  v_proj: 'v',
  o_proj: 'o',
  gate_proj: 'gate',
  up_proj: 'up',
  down_proj: 'down',
};

/** The LlamaShape of a reference config. */
export function shapeOfRef(c: RefConfig): LlamaShape {
  return {
    biases: (c.biases ?? []) as LinearName[],
    qkNorm: c.qkNorm === true,
    vocabSize: c.vocab,
    hidden: c.hidden,
    intermediate: c.intermediate,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    rmsEps: c.rmsEps,
    ropeTheta: c.ropeTheta,
    maxPositions: 1 << 20,
    ropeScaling: null,
    tieWordEmbeddings: c.tied,
  };
}

function encode(
  values: Float64Array,
  dtype: StorageDtype,
): { raw: Uint8Array; decoded: Float64Array } {
  if (dtype === 'F32') {
    const f = Float32Array.from(values);
    return { raw: new Uint8Array(f.buffer), decoded: Float64Array.from(f) };
  }
  const kind = dtype === 'BF16' ? 'bf16' : 'f16';
  const h = encodeHalves(values, kind);
  return { raw: new Uint8Array(h.buffer), decoded: Float64Array.from(decodeHalves(h, kind)) };
}

/**
 * Rounds the reference's base weights to `dtype` (in place, so the reference sees exactly what the
 * GPU sees) and returns a WeightSource over their bytes. Norms are stored as F32 like HF's
 * checkpoints often mix; LoRA tensors are not part of the base checkpoint.
 */
export function refWeightSource(
  shape: LlamaShape,
  w: RefWeights,
  dtype: StorageDtype,
): WeightSource {
  const map = new Map<string, RawTensor>();
  const put = (name: string, arr: Float64Array, dims: number[], dt: StorageDtype) => {
    const { raw, decoded } = encode(arr, dt);
    arr.set(decoded);
    map.set(name, { dtype: dt, shape: dims, bytes: raw });
  };
  const D = shape.hidden;
  put('model.embed_tokens.weight', w.embed, [shape.vocabSize, D], dtype);
  if (!shape.tieWordEmbeddings && w.lmHead)
    put('lm_head.weight', w.lmHead, [shape.vocabSize, D], dtype);
  put('model.norm.weight', w.norm, [D], 'F32');
  w.layers.forEach((l, i) => {
    put(`model.layers.${i}.input_layernorm.weight`, l.inputNorm, [D], 'F32');
    put(`model.layers.${i}.post_attention_layernorm.weight`, l.postNorm, [D], 'F32');
    for (const n of LINEAR_NAMES) {
      const arr = l[REF_KEY[n]];
      put(linearWeightName(i, n), arr, linearShape(shape, n), dtype);
    }
    // Biases and q/k norms are stored F32 (Qwen checkpoints keep them in the weights' dtype; the
    // GPU holds them in f32 either way).
    for (const n of shape.biases)
      put(biasName(i, linearPath(n)), l.bias![n]!, [linearShape(shape, n)[0]], 'F32');
    if (shape.qkNorm) {
      put(qkNormName(i, 'q'), l.qNorm!, [shape.headDim], 'F32');
      put(qkNormName(i, 'k'), l.kNorm!, [shape.headDim], 'F32');
    }
  });
  return {
    has: (name) => map.has(name),
    read: async (name) => {
      const t = map.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return t;
    },
  };
}

/**
 * Gives the GPU parameters and the reference the same non-zero LoRA matrices for `targets` in every
 * layer (B = 0 would leave every A gradient zero). A is the reference's, rounded to f32 (the GPU
 * holds LoRA in f32). B is the reference's rounded to f32 too, or, with `seed`, uniform in
 * [-0.5, 0.5) from `new Rng(seed + layer)` (one fresh generator per layer and target).
 */
export function setNonZeroLora(
  params: LlamaParams,
  w: RefWeights,
  targets: readonly LinearName[],
  seed?: number,
): void {
  w.layers.forEach((l, i) => {
    for (const n of targets) {
      const pair = l.lora[n]!;
      const A = Float32Array.from(pair.A);
      const B =
        seed === undefined
          ? Float32Array.from(pair.B)
          : new Rng(seed + i).floats(pair.B.length, -0.5, 0.5);
      pair.A.set(A);
      pair.B.set(B);
      params.setTrainable(loraName(i, n, 'A'), Float32Array.from(A));
      params.setTrainable(loraName(i, n, 'B'), Float32Array.from(B));
    }
  });
}

/**
 * The reference's gradients by trainable name: the embedding (when trained), the final norm, each
 * layer's two norms (and q/k head norms when the model has them) and the LoRA A/B of `targets`.
 */
export function expectedGradients(
  grads: RefGrads,
  opts: { targets: readonly LinearName[]; trainEmbed: boolean },
): Map<string, Float64Array> {
  const expected = new Map<string, Float64Array>();
  if (opts.trainEmbed) expected.set('model.embed_tokens.weight', grads.embed);
  expected.set('model.norm.weight', grads.norm);
  grads.layers.forEach((g, i) => {
    expected.set(`model.layers.${i}.input_layernorm.weight`, g.inputNorm);
    expected.set(`model.layers.${i}.post_attention_layernorm.weight`, g.postNorm);
    if (g.qNorm) expected.set(qkNormName(i, 'q'), g.qNorm);
    if (g.kNorm) expected.set(qkNormName(i, 'k'), g.kNorm);
    for (const n of opts.targets) {
      expected.set(loraName(i, n, 'A'), g.lora[n]!.A);
      expected.set(loraName(i, n, 'B'), g.lora[n]!.B);
    }
  });
  return expected;
}

/**
 * Asserts that `expected` names as many tensors as there are trainables, reads every trainable
 * gradient and returns `name<label>: error` for each whose norm-wise relative error against
 * `expected` is not below `tol` (NaN included): an empty list when all match.
 */
export async function gradientErrors(
  rt: Runtime,
  params: LlamaParams,
  expected: ReadonlyMap<string, Float64Array>,
  tol: number,
  label = '',
): Promise<string[]> {
  expect(params.trainables.length).toBe(expected.size);
  const offenders: string[] = [];
  for (const t of params.trainables) {
    const err = relativeError(await rt.read(t.grad), expected.get(t.name)!);
    if (!(err < tol)) offenders.push(`${t.name}${label}: ${err.toExponential(2)}`);
  }
  return offenders;
}

/** Each position's label is the next token's (-100, ignored, at the last position). */
export function nextTokenLabels(tokens: readonly number[], labels: readonly number[]): Int32Array {
  const T = tokens.length;
  return Int32Array.from(tokens, (_, t) => (t + 1 < T ? labels[t + 1]! : IGNORE_INDEX));
}

/**
 * Call inside a describe: returns a getter of one capped runtime per distinct caps, created on first
 * use and destroyed after the suite.
 */
export function cappedRuntimes(): (caps: RuntimeCaps) => Promise<Runtime> {
  const runtimes = new Map<string, Runtime>();
  afterAll(() => runtimes.forEach((rt) => rt.destroy(true)));
  return async (caps) => {
    const key = JSON.stringify(caps);
    let rt = runtimes.get(key);
    if (!rt) runtimes.set(key, (rt = await cappedRuntime(caps)));
    return rt;
  };
}

/**
 * A one-document text dataset of `blocks` × `context` tokens drawn from `new Rng(seed)`: the first
 * `train` blocks for training, the rest held out when `heldOut` (otherwise none).
 */
export function randomDataset(o: {
  vocab: number;
  context: number;
  seed: number;
  blocks: number;
  train: number;
  heldOut: boolean;
}): Dataset {
  const rng = new Rng(o.seed);
  const ids = Array.from({ length: o.context * o.blocks }, () => rng.int(o.vocab));
  const blocks = cutBlocks(ids, null, o.context);
  return {
    format: 'token-ids',
    promptFormat: null,
    example: null,
    separator: null,
    detectedSeparator: null,
    documents: 1,
    tokens: ids.length,
    context: o.context,
    train: blocks.slice(0, o.train),
    heldOut: o.heldOut ? blocks.slice(o.train) : [],
    samples: [],
    boundary: null,
  };
}

/**
 * A tiny tied model whose [512, 32] f32 embedding (64 KiB) a 16 KiB binding cap splits into 4 row
 * blocks (s2 in groups of 4, LoRA r 2 on q and v).
 */
export const BLOCKED_EMBED_CONFIG: Readonly<RefConfig> = {
  vocab: 512,
  hidden: 32,
  intermediate: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 8,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 2,
  tied: true,
  pattern: 's2',
  group: 4,
  loraTargets: ['q_proj', 'v_proj'],
  rank: 2,
  alpha: 4,
};

/**
 * KV-cache decoding against the float64 reference: decodes `prompt` into `cache`, then one token per
 * step, and checks each step's last-position logits against the reference forward of everything fed
 * so far (1e-4 + 1e-3·|ref|). `next(step, got, want)` picks the token fed after step `step` (it may
 * assert more). Returns the tokens fed.
 */
export async function expectDecodeMatchesReference(o: {
  model: LlamaModel;
  cache: KvCache;
  cfg: RefConfig;
  w: RefWeights;
  prompt: readonly number[];
  steps: number;
  ropeFactor: number;
  next: (step: number, got: Float32Array, want: Float64Array) => number;
}): Promise<number[]> {
  const seq = [...o.prompt];
  let pending = [...o.prompt];
  for (let step = 0; step < o.steps; step++) {
    const got = await o.model.decode(pending, o.cache, o.ropeFactor);
    const all = refForwardLogits(o.cfg, o.w, seq);
    const want = all.subarray((seq.length - 1) * o.cfg.vocab, seq.length * o.cfg.vocab);
    expectClose(`step ${step} logits`, got, want, 1e-4, 1e-3);
    const id = o.next(step, got, want);
    seq.push(id);
    pending = [id];
  }
  return seq;
}

/** Tokens per block of the blocked-embedding training tests. */
export const BLOCKED_EMBED_CONTEXT = 8;

/**
 * The training settings of the blocked-embedding tests (LoRA+ on q/v, accumulation 2, lr 1e-2 after
 * one warmup step, no periodic evaluation or checkpoints); `extra` overrides fields.
 */
export function blockedEmbedSettings(
  steps: number,
  clip: number,
  extra: Partial<RunSettings> = {},
): RunSettings {
  return {
    ...cliDefaults(BLOCKED_EMBED_CONTEXT),
    groupSize: 4,
    ropeFactor: Math.ceil(BLOCKED_EMBED_CONTEXT / 4),
    rank: 2,
    alpha: 4,
    targets: ['q_proj', 'v_proj'],
    trainable: ['embed', 'norm'],
    lr: 1e-2,
    warmup: 1,
    steps,
    gradAccum: 2,
    clip,
    checkpointEvery: 0,
    evalEvery: 0,
    seed: 5,
    ...extra,
  };
}
