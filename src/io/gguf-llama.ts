/**
 * GGUF models of the supported architectures (llama, qwen2, qwen3: src/io/arch.ts): tensor names to
 * Hugging Face names, dims to HF shapes, q/k row order, config.
 */
import { ARCHITECTURES, archByGguf } from './arch.ts';
import { globalName, hfToGgufName, type RotaryRows } from './block.ts';
import { checkHeadDim, type ModelConfig } from './config.ts';
import { FormatError, UnsupportedModelError } from './errors.ts';
import { metadataNumber as num, type GgufFile } from './gguf.ts';
import { InternalError } from '../util/errors.ts';

export { ggufToHfName, hfToGgufName } from './block.ts';

/** GGUF dims (fastest first) → HF shape (slowest first). */
export function ggufDimsToShape(dims: readonly number[]): number[] {
  return [...dims].reverse();
}

type Rows = Float32Array | Uint16Array | Uint8Array;

function reorderRows<T extends Rows>(
  data: T,
  nHeads: number,
  rows: number,
  cols: number,
  inverse: boolean,
): T {
  if (data.length !== rows * cols)
    throw new InternalError(`q/k permutation: ${data.length} elements ≠ ${rows}×${cols}`);
  if (rows % (2 * nHeads) !== 0)
    throw new InternalError(
      `q/k permutation: ${rows} rows do not split into ${nHeads} heads of even size`,
    );
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const headDim = rows / nHeads;
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const hf = h * headDim + j * half + i; // rotate-half: pairs (i, i + d/2)
        const meta = h * headDim + 2 * i + j; // interleaved: pairs (2i, 2i + 1)
        const [to, from] = inverse ? [hf, meta] : [meta, hf];
        out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/**
 * GGUF (Meta interleaved rotary) q/k rows → HF rotate-half rows: the inverse of llama.cpp's convert
 * permutation. `data` is row-major [rows, cols] in elements of its array type; nHeads is n_head for q
 * and n_head_kv for k.
 */
export function unpermuteQK<T extends Rows>(
  data: T,
  nHeads: number,
  rows: number,
  cols: number,
): T {
  return reorderRows(data, nHeads, rows, cols, true);
}

/** HF rotate-half q/k rows → GGUF interleaved rows (llama.cpp's convert permutation). */
export function permuteQK<T extends Rows>(data: T, nHeads: number, rows: number, cols: number): T {
  return reorderRows(data, nHeads, rows, cols, false);
}

/**
 * permuteQK (or, `inverse`, unpermuteQK) over the rotated rows of a stored tensor of `cols` columns
 * (block.ts ggufRotaryRows: q's and k's rows, or a fused tensor's q and k parts); the other rows are
 * kept. Returns `data` itself when no rows rotate.
 */
export function permuteRotaryRows<T extends Rows>(
  data: T,
  rotary: readonly RotaryRows[],
  cols: number,
  inverse = false,
): T {
  if (!rotary.length) return data;
  const whole =
    rotary.length === 1 && rotary[0]!.row0 === 0 && rotary[0]!.rows * cols === data.length;
  if (whole) return reorderRows(data, rotary[0]!.heads, rotary[0]!.rows, cols, inverse);
  const out = data.slice() as T;
  for (const r of rotary) {
    const part = data.subarray(r.row0 * cols, (r.row0 + r.rows) * cols) as T;
    out.set(reorderRows(part, r.heads, r.rows, cols, inverse), r.row0 * cols);
  }
  return out;
}

/** The shortest decimal that rounds to the same f32 (GGUF stores 1e-5 as 9.99999974e-6). */
export function shortestF32(x: number): number {
  for (let p = 1; p < 10; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === Math.fround(x)) return y;
  }
  return x;
}

/** Builds the normalized model config from GGUF metadata (llama, qwen2, qwen3) and tensor infos. */
export function ggufToModelConfig(file: string, gguf: GgufFile): ModelConfig {
  const md = gguf.metadata;
  const name = md['general.architecture'];
  const arch = typeof name === 'string' ? archByGguf(name) : undefined;
  if (!arch) {
    const known = [...new Set(ARCHITECTURES.map((a) => `"${a.ggufArch}"`))].join(', ');
    throw new UnsupportedModelError(
      file,
      `GGUF architecture "${String(name)}" is not supported (supported: ${known})`,
    );
  }
  const p = arch.ggufArch;
  const need = (key: string): number => {
    const v = num(md, `${p}.${key}`);
    if (v === undefined) throw new FormatError(file, `missing metadata ${p}.${key}`);
    return v;
  };
  if (num(md, `${p}.expert_count`)) {
    throw new UnsupportedModelError(
      file,
      `mixture-of-experts models (${p}.expert_count) are not supported`,
    );
  }
  const hidden = need('embedding_length');
  const heads = need('attention.head_count');
  const tokens = md['tokenizer.ggml.tokens'];
  const embdName = hfToGgufName(globalName(arch, 'embed'), arch);
  const embd = gguf.tensors.find((t) => t.name === embdName);
  const vocabSize =
    num(md, `${p}.vocab_size`) ?? (Array.isArray(tokens) ? tokens.length : embd?.dims[1]);
  if (vocabSize === undefined) throw new FormatError(file, 'cannot tell the vocabulary size');
  const scalingType = md[`${p}.rope.scaling.type`];
  const factor = num(md, `${p}.rope.scaling.factor`);
  let ropeScaling: ModelConfig['ropeScaling'] = null;
  if (scalingType === 'linear' && factor)
    ropeScaling = { type: 'linear', factor: shortestF32(factor) };
  else if (scalingType !== undefined && scalingType !== 'none') {
    throw new UnsupportedModelError(file, `rope scaling "${String(scalingType)}" is not supported`);
  }
  const types = new Set(gguf.tensors.map((t) => t.typeName));
  const kvHeads = num(md, `${p}.attention.head_count_kv`) ?? heads;
  if (heads % kvHeads !== 0)
    throw new FormatError(
      file,
      `${p}.attention.head_count ${heads} is not a multiple of ${p}.attention.head_count_kv ${kvHeads}`,
    );
  const headDim = num(md, `${p}.attention.key_length`) ?? hidden / heads;
  checkHeadDim(file, headDim);
  return {
    architecture: arch.hfArchitecture,
    biases: arch.biases,
    qkNorm: arch.qkNorm,
    slidingWindow: null,
    vocabSize,
    hidden,
    intermediate: need('feed_forward_length'),
    layers: need('block_count'),
    heads,
    kvHeads,
    headDim,
    rmsEps: shortestF32(num(md, `${p}.attention.layer_norm_rms_epsilon`) ?? 1e-5),
    ropeTheta: shortestF32(num(md, `${p}.rope.freq_base`) ?? arch.defaults.ropeTheta),
    maxPositions: need('context_length'),
    ropeScaling,
    tieWordEmbeddings: !gguf.tensors.some(
      (t) => t.name === hfToGgufName(globalName(arch, 'lmHead'), arch),
    ),
    bosId: num(md, 'tokenizer.ggml.bos_token_id') ?? 1,
    eosId: num(md, 'tokenizer.ggml.eos_token_id') ?? 2,
    eosIds: [num(md, 'tokenizer.ggml.eos_token_id') ?? 2],
    torchDtype:
      types.size === 1 && types.has('F32')
        ? 'float32'
        : types.has('BF16')
          ? 'bfloat16'
          : types.has('F16')
            ? 'float16'
            : null,
  };
}
