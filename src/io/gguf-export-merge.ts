/**
 * The merged model as a GGUF: every tensor of the block in llama.cpp's order (src/io/block.ts), each
 * weight base + scaling·B·A or the trained tensor, q/k rows permuted where the architecture's GGUF
 * keeps interleaved rotary order, with the architecture's and the tokenizer's metadata.
 */
import { archOf } from './arch.ts';
import { ggufExportOrder, ggufRotaryRows, linearShape, linearWeightName } from './block.ts';
import { bytesToF32, f32ToBytes, numel } from './dtype.ts';
import { AdapterError, FormatError } from './errors.ts';
import { quantize } from './quantize.ts';
import {
  archKvs,
  FILE_TYPE,
  GGML,
  QUANTIZATION_VERSION,
  WEIGHT,
  type GgufExportDtype,
  type GgufRope,
} from './gguf-export-meta.ts';
import { planExport, type GgufExport, type GgufStreamTensor } from './gguf-export-stream.ts';
import { hfToGgufName, permuteRotaryRows } from './gguf-llama.ts';
import type { GgufKv } from './gguf-writer.ts';
import type { ModelConfig } from './config.ts';
import type { OpenedModel } from './model.ts';
import { loraScaling, type ReadAdapter } from './peft.ts';
import { DTYPE_BYTES } from '../util/dtype.ts';

/** What a merged GGUF export takes. */
export interface MergedGgufInput {
  model: OpenedModel;
  /** The adapter to merge; without one the base model is exported as it is. */
  adapter?: ReadAdapter;
  dtype: GgufExportDtype;
  /** llama.context_length: the context the adapter was trained at. */
  contextLength: number;
  rope: GgufRope;
  name: string;
  /** The tokenizer metadata (tokenizerKvs). */
  tokenizer: GgufKv[];
}

/**
 * Checks that an adapter fits the model: every LoRA pair's shapes, its layer, and every trained
 * tensor's name and shape. Throws a FormatError naming the first mismatch.
 */
export function checkAdapterShapes(
  config: ModelConfig,
  a: ReadAdapter,
  tensors: Map<string, number[]>,
): void {
  for (const l of a.lora) {
    if (l.layer >= config.layers)
      throw new AdapterError(
        'adapter_model.safetensors',
        `the adapter has layer ${l.layer}; the model has ${config.layers} layers`,
      );
    const [out, inF] = linearShape(config, l.module);
    if (l.A.length !== a.r * inF || l.B.length !== out * a.r)
      throw new AdapterError(
        'adapter_model.safetensors',
        `layer ${l.layer} ${l.module}: the model needs A [${a.r}, ${inF}] and B [${out}, ${a.r}]; the adapter's do not fit (${l.A.length} and ${l.B.length} values)`,
      );
  }
  for (const t of a.trained) {
    const shape = tensors.get(t.name);
    if (!shape)
      throw new AdapterError(
        'adapter_model.safetensors',
        `trained tensor ${t.name} is not a weight of this model`,
      );
    if (shape.join() !== t.shape.join() || numel(shape) !== t.data.length)
      throw new AdapterError(
        'adapter_model.safetensors',
        `trained tensor ${t.name} is [${t.shape.join(', ')}]; the model's is [${shape.join(', ')}]`,
      );
  }
}

/** The stored type of one exported tensor. */
type TensorType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_k' | 'q5_0' | 'q6_k';

/** Values per block and bytes per block of the quantized types an export writes. */
const BLOCKS: Record<'q8_0' | 'q4_k' | 'q5_0' | 'q6_k', [number, number]> = {
  q8_0: [32, 34],
  q4_k: [256, 144],
  q5_0: [32, 22],
  q6_k: [256, 210],
};

/** The ggml type ids of every stored type. */
const TYPE_ID: Record<TensorType, number> = {
  f32: GGML.f32,
  f16: GGML.f16,
  bf16: GGML.bf16,
  q8_0: GGML.q8_0,
  q4_k: 12,
  q5_0: 6,
  q6_k: 14,
};

/** llama.cpp's loader order (weight_name_comparer): layer number (none first), then name. */
function quantizeOrder(a: string, b: string): number {
  const layer = (n: string) => Number(/^blk\.(\d+)\./.exec(n)?.[1] ?? -1);
  const d = layer(a) - layer(b);
  return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
}

/** llama.cpp's use_more_bits (moreBits here): the first and last eighth of the layers, and every third between. */
function moreBits(i: number, n: number): boolean {
  const e = Math.trunc(n / 8);
  return i < e || i >= Math.trunc((7 * n) / 8) || (i - e) % 3 === 2;
}

/**
 * The type of each tensor (GGUF name → type, `tensors` in llama-quantize's order) for an export of
 * `dtype`, as `llama-quantize` decides it for a llama model without an importance matrix
 * (llama.cpp's tensor_allows_quantization, llama_tensor_get_type_impl, tensor_type_fallback):
 * - 1-D tensors and norms stay f32; f32/f16/bf16 exports write matrices in that type.
 * - q8_0: every other matrix Q8_0; q6_k: Q6_K (the output layer Q8_0 where its rows are not whole
 *   256-value blocks).
 * - q4_k_m: Q4_K, except the output layer (the token embedding when tied) Q6_K (Q8_0 where its
 *   rows are not whole 256-value blocks), attn_v and ffn_down Q6_K in the layers use_more_bits
 *   picks (counted in file order).
 * - A type whose block does not divide a row falls back: Q4_K → Q5_0, Q6_K → Q8_0, and to F16 when
 *   that does not divide it either.
 */
function exportTypes(
  tensors: readonly { name: string; shape: readonly number[] }[],
  dtype: GgufExportDtype,
  layers: number,
): Map<string, TensorType> {
  const out = new Map<string, TensorType>();
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const nV = tensors.filter((t) => t.name.endsWith('attn_v.weight')).length;
  let iV = 0;
  let iDown = 0;
  for (const t of tensors) {
    const quantizable =
      t.shape.length >= 2 && t.name.endsWith('weight') && !t.name.includes('_norm.weight');
    if (t.shape.length === 1) out.set(t.name, 'f32');
    else if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') out.set(t.name, dtype);
    else if (!quantizable) out.set(t.name, 'f32');
    else {
      const cols = t.shape.at(-1)!;
      let type: TensorType = dtype === 'q4_k_m' ? 'q4_k' : dtype;
      const output = t.name === 'output.weight' || (tied && t.name === 'token_embd.weight');
      if (dtype === 'q6_k' && output && cols % 256 !== 0) type = 'q8_0';
      if (dtype === 'q4_k_m') {
        if (output) type = cols % 256 !== 0 ? 'q8_0' : 'q6_k';
        else if (t.name.endsWith('attn_v.weight')) {
          if (moreBits(iV, nV)) type = 'q6_k';
          iV++;
        } else if (t.name.endsWith('ffn_down.weight')) {
          if (moreBits(iDown, layers)) type = 'q6_k';
          iDown++;
        }
      }
      const fits = (q: TensorType) =>
        q === 'f16' || cols % BLOCKS[q as keyof typeof BLOCKS][0] === 0;
      if (!fits(type)) {
        type = type === 'q4_k' ? 'q5_0' : type === 'q6_k' ? 'q8_0' : type;
        if (!fits(type)) type = 'f16';
      }
      out.set(t.name, type);
    }
  }
  return out;
}

/** Bytes of `n` values stored as `type`. */
function storedBytes(n: number, type: TensorType): number {
  if (type === 'f32' || type === 'f16' || type === 'bf16') return n * DTYPE_BYTES[type];
  const [values, bytes] = BLOCKS[type];
  return (n / values) * bytes;
}

const QUANT_NAME = { q8_0: 'Q8_0', q4_k: 'Q4_K', q5_0: 'Q5_0', q6_k: 'Q6_K' } as const;

function toType(values: Float32Array, type: TensorType): Uint8Array {
  return type === 'f32' || type === 'f16' || type === 'bf16'
    ? f32ToBytes(values, WEIGHT[type])
    : quantize(QUANT_NAME[type], values);
}

/**
 * The merged model as a GGUF to stream: llama metadata (context_length = the trained context,
 * linear rope scaling or llama3 rope_freqs), the tokenizer, and each weight as base + scaling·B·A
 * (or the trained tensor), q/k rows permuted to GGUF's interleaved rotary order.
 */
export function mergedGguf(input: MergedGgufInput): GgufExport {
  const { model, adapter, dtype } = input;
  const config = model.config;
  const shapes = new Map(model.tensors.map((t) => [t.name, t.shape]));
  if (adapter) checkAdapterShapes(config, adapter, shapes);
  const arch = archOf(config);
  const trained = new Map((adapter?.trained ?? []).map((t) => [t.name, t]));
  const lora = new Map(
    (adapter?.lora ?? []).map((l) => [linearWeightName(l.layer, l.module, arch), l]),
  );
  const scaling = adapter ? loraScaling(adapter.alpha, adapter.r) : 0;
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  // The block's tensors in llama.cpp's order, with the architecture's biases (Qwen2) and per-head
  // q/k norms (Qwen3, trained ones substituted).
  const order = ggufExportOrder(config, arch);
  const tensors: GgufStreamTensor[] = [];
  if (input.rope.kind === 'freqs') {
    const f = input.rope.factors;
    tensors.push({
      name: 'rope_freqs.weight',
      dims: [f.length],
      type: GGML.f32,
      byteLength: f.byteLength,
      produce: () => Promise.resolve(f32ToBytes(f, 'F32')),
    });
  }
  const quantized = dtype === 'q8_0' || dtype === 'q4_k_m' || dtype === 'q6_k';
  const listed = order.map((hf) => {
    const src = byName.get(hf);
    if (!src) throw new FormatError(hf, `the model has no ${hf}`);
    return { hf, src, name: hfToGgufName(hf, arch)!, shape: src.shape };
  });
  // llama-quantize writes (and counts layers for its type choices) in its loader's order: the
  // tensors outside the layers first, then layer by layer (blk.N numerically), each group by name.
  const types = exportTypes(
    quantized ? [...listed].sort((a, b) => quantizeOrder(a.name, b.name)) : listed,
    dtype,
    config.layers,
  );
  for (const { hf, src, name } of listed) {
    const stored = types.get(name)!;
    const n = numel(src.shape);
    tensors.push({
      name,
      dims: [...src.shape].reverse(),
      type: TYPE_ID[stored],
      byteLength: storedBytes(n, stored),
      produce: async () => {
        const replaced = trained.get(hf);
        let values = replaced
          ? Float32Array.from(replaced.data)
          : bytesToF32(await src.read(), src.dtype);
        const pair = lora.get(hf);
        if (pair) {
          const [outF, inF] = src.shape as [number, number];
          const r = adapter!.r;
          const { A, B } = pair;
          const row = new Float64Array(inF);
          for (let o = 0; o < outF; o++) {
            row.fill(0);
            for (let k = 0; k < r; k++) {
              const b = B[o * r + k]!;
              if (b === 0) continue;
              const a0 = k * inF;
              for (let i = 0; i < inF; i++) row[i] = row[i]! + b * A[a0 + i]!;
            }
            const base = o * inF;
            for (let i = 0; i < inF; i++) values[base + i] = values[base + i]! + scaling * row[i]!;
          }
        }
        // llama's q/k rows go to interleaved rotary order; qwen2/qwen3 keep Hugging Face's.
        values = permuteRotaryRows(values, ggufRotaryRows(arch, config, hf), src.shape[1]!);
        return toType(values, stored);
      },
    });
  }
  if (quantized) tensors.sort((a, b) => quantizeOrder(a.name, b.name));
  const fileType = { key: 'general.file_type', type: 'u32', value: FILE_TYPE[dtype] } as GgufKv;
  // A quantized file's metadata is ordered as llama-quantize writes it from the f32 export: the
  // input's keys with general.file_type removed, then general.quantization_version and the file
  // type, each set by removing and appending.
  const kvs = quantized
    ? [
        ...archKvs(config, input),
        ...input.tokenizer,
        {
          key: 'general.quantization_version',
          type: 'u32',
          value: QUANTIZATION_VERSION,
        } as GgufKv,
        fileType,
      ]
    : [...archKvs(config, input), fileType, ...input.tokenizer];
  return planExport(kvs, tensors);
}
