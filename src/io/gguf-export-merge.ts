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
type TensorType = 'f32' | 'f16' | 'bf16' | 'q8_0';

/**
 * The type a tensor is exported as: 1-D tensors f32; matrices the export's type. For q8_0, the rule
 * `llama-quantize` applies to a llama model (llama.cpp's tensor_allows_quantization and
 * tensor_type_fallback): a matrix whose GGUF name ends in "weight" and is no norm becomes Q8_0 when
 * its rows are whole 32-value blocks, else F16; any other matrix keeps f32.
 */
function tensorType(
  ggufName: string,
  shape: readonly number[],
  dtype: GgufExportDtype,
): TensorType {
  if (shape.length === 1) return 'f32';
  if (dtype !== 'q8_0') return dtype;
  const quantizable = ggufName.endsWith('weight') && !ggufName.includes('_norm.weight');
  if (!quantizable) return 'f32';
  return shape.at(-1)! % 32 === 0 ? 'q8_0' : 'f16';
}

/** llama.cpp's loader order (weight_name_comparer): layer number (none first), then name. */
function quantizeOrder(a: string, b: string): number {
  const layer = (n: string) => Number(/^blk\.(\d+)\./.exec(n)?.[1] ?? -1);
  const d = layer(a) - layer(b);
  return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
}

/** Bytes of `n` values stored as `type`. */
function storedBytes(n: number, type: TensorType): number {
  return type === 'q8_0' ? (n / 32) * 34 : n * DTYPE_BYTES[type];
}

function toType(values: Float32Array, type: TensorType): Uint8Array {
  return type === 'q8_0' ? quantize('Q8_0', values) : f32ToBytes(values, WEIGHT[type]);
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
  for (const hf of order) {
    const src = byName.get(hf);
    if (!src) throw new FormatError(hf, `the model has no ${hf}`);
    const name = hfToGgufName(hf, arch)!;
    const stored = tensorType(name, src.shape, dtype);
    const n = numel(src.shape);
    tensors.push({
      name,
      dims: [...src.shape].reverse(),
      type: GGML[stored],
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
  // llama-quantize writes tensors in its loader's order: those outside the layers first, then layer
  // by layer (blk.N numerically), each group by name.
  if (dtype === 'q8_0') tensors.sort((a, b) => quantizeOrder(a.name, b.name));
  const fileType = { key: 'general.file_type', type: 'u32', value: FILE_TYPE[dtype] } as GgufKv;
  // A quantized file's metadata is ordered as llama-quantize writes it from the f32 export: the
  // input's keys with general.file_type removed, then general.quantization_version and the file
  // type, each set by removing and appending.
  const kvs =
    dtype === 'q8_0'
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
