/**
 * Test support: turns a float64 reference model (src/reference/llama.ts) into the tensors a
 * checkpoint would hold, in a chosen storage dtype, so the GPU graph can be compared with it.
 */
import { decodeHalves, encodeHalves } from '../util/half.ts';
import type { RefConfig, RefWeights } from '../reference/llama.ts';
import { linearWeightName, type RawTensor, type WeightSource } from '../model/params.ts';
import { LINEAR_NAMES, linearShape, type LinearName, type LlamaShape } from '../model/types.ts';

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
