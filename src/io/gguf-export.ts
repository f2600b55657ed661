/**
 * GGUF export for llama.cpp: the merged model (base + scaling·B·A, trained embeddings and norms
 * substituted) or a LoRA adapter GGUF (general.type = adapter), with llama.cpp's llama metadata and
 * a tokenizer copied from a source GGUF or built from tokenizer.json. The file is produced as a
 * header followed by one tensor at a time, so a caller streams it to disk without holding it.
 */
import { archOf } from './arch.ts';
import {
  ggufExportOrder,
  ggufRotaryRows,
  ggufRotaryRowsOfLinear,
  linearShape,
  linearWeightName,
} from './block.ts';
import type { ModelConfig } from './config.ts';
import { bytesToF32, f32ToBytes, numel } from './dtype.ts';
import { AdapterError, FormatError, GgufExportError, LoraGgufTrainedError } from './errors.ts';
import type { GgufFile } from './gguf.ts';
import { bpePreName } from './gguf-bpe.ts';
import { hfToGgufName, permuteRotaryRows } from './gguf-llama.ts';
import { ggufHeader, ggufPadding, type GgufKv } from './gguf-writer.ts';
import type { OpenedModel, TokenizerSource } from './model.ts';
import { loraScaling, type ReadAdapter } from './peft.ts';
import { hfTokenizer, tokenContent, tokenizerParts as parts } from './tokenizer.ts';
import { InternalError } from '../util/errors.ts';
import { DTYPE_BYTES } from '../util/dtype.ts';

/** The element type of the exported matrices (1-D tensors, the norms, stay f32 as llama.cpp's converter keeps them). */
export type GgufExportDtype = 'f32' | 'f16' | 'bf16';
export const GGUF_EXPORT_DTYPES: readonly GgufExportDtype[] = ['f32', 'f16', 'bf16'];

const GGML = { f32: 0, f16: 1, bf16: 30 } as const;
/** general.file_type: llama.cpp's LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16. */
const FILE_TYPE = { f32: 0, f16: 1, bf16: 32 } as const;
const WEIGHT = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;

/** How the exported model's RoPE reproduces training. */
export type GgufRope =
  | { kind: 'plain' }
  | { kind: 'linear'; factor: number }
  /** llama3 frequencies: llama.cpp divides each frequency by its factor (a rope_freqs tensor). */
  | { kind: 'freqs'; factors: Float32Array };

/** Inverse RoPE frequencies for a linear factor, reshaped by llama3 parameters when given (HF names). */
export type InvFreq = (
  factor: number,
  llama3?: {
    factor: number;
    low_freq_factor: number;
    high_freq_factor: number;
    original_max_position_embeddings: number;
  },
) => Float32Array;

/**
 * The RoPE a GGUF needs to reproduce training at linear factor `factor`: the model's llama3
 * frequencies as llama.cpp's rope_freqs factors (plain / trained inverse frequency, the factor
 * included), else linear ×F when F > 1, else plain. `invFreq` computes the inverse frequencies (the
 * engine's own, so the rule lives in one place). A "dynamic" model is refused.
 */
export function ggufRope(config: ModelConfig, factor: number, invFreq: InvFreq): GgufRope {
  const r = config.ropeScaling;
  if (r?.type === 'dynamic')
    throw new GgufExportError(
      'config.json',
      'rope_scaling type "dynamic" changes its frequencies with the sequence length, which a GGUF cannot express; export refused',
    );
  if (r?.type === 'llama3') {
    const plain = invFreq(1);
    const trained = invFreq(factor, {
      factor: r.factor,
      low_freq_factor: r.lowFreqFactor,
      high_freq_factor: r.highFreqFactor,
      original_max_position_embeddings: r.originalMaxPositions,
    });
    return { kind: 'freqs', factors: plain.map((p, i) => p / trained[i]!) };
  }
  return factor === 1 ? { kind: 'plain' } : { kind: 'linear', factor };
}

/** One tensor of the file, produced when it is written. */
export interface GgufStreamTensor {
  name: string;
  dims: number[];
  type: number;
  byteLength: number;
  produce(): Promise<Uint8Array>;
}

/** A GGUF ready to stream: its header, its tensors in order and its total size. */
export interface GgufExport {
  header: Uint8Array;
  tensors: GgufStreamTensor[];
  fileBytes: number;
  alignment: number;
}

const ALIGNMENT = 32;

function planExport(kvs: GgufKv[], tensors: GgufStreamTensor[]): GgufExport {
  const { header, fileBytes } = ggufHeader(kvs, tensors, ALIGNMENT);
  return { header, tensors, fileBytes, alignment: ALIGNMENT };
}

/**
 * Writes a planned GGUF through `write` chunk by chunk (the header, then each tensor and its
 * padding); `onProgress` gets the bytes written so far and the total.
 */
export async function streamGguf(
  exp: GgufExport,
  write: (chunk: Uint8Array) => Promise<void>,
  onProgress?: (written: number, total: number) => void,
): Promise<void> {
  let done = 0;
  const emit = async (b: Uint8Array) => {
    // The length first: `write` may transfer (detach) the chunk's buffer.
    const n = b.length;
    if (!n) return;
    await write(b);
    done += n;
    onProgress?.(done, exp.fileBytes);
  };
  await emit(exp.header);
  for (const t of exp.tensors) {
    const data = await t.produce();
    const n = data.length;
    if (n !== t.byteLength)
      throw new InternalError(`GGUF export: "${t.name}" produced ${n} bytes, not ${t.byteLength}`);
    await emit(data);
    await emit(ggufPadding(n, exp.alignment));
  }
  if (done !== exp.fileBytes)
    throw new InternalError(`GGUF export wrote ${done} bytes, expected ${exp.fileBytes}`);
}

// ---------------------------------------------------------------------------------------------
// Tokenizer metadata

const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_BYTE = 6;

type Json = Record<string, unknown>;

/** Copies a GGUF's tokenizer.* metadata with its types. */
function tokenizerKvsFromGguf(gguf: GgufFile): GgufKv[] {
  const out: GgufKv[] = [];
  for (const [key, value] of Object.entries(gguf.metadata)) {
    if (!key.startsWith('tokenizer.')) continue;
    const t = gguf.types[key]!;
    if (t.type === 'array') {
      out.push({
        key,
        type: 'array',
        itemType: t.itemType as Exclude<typeof t.itemType, 'array' | undefined>,
        value: value as (number | string | boolean | bigint)[],
      });
    } else if (t.type === 'string') out.push({ key, type: 'string', value: String(value) });
    else if (t.type === 'bool') out.push({ key, type: 'bool', value: Boolean(value) });
    else out.push({ key, type: t.type, value: value as number | bigint } as GgufKv);
  }
  return out;
}

/**
 * The tokenizer metadata llama.cpp needs, built from tokenizer.json (+ tokenizer_config.json):
 * sentencepiece-style BPE (byte fallback, ▁ for spaces) as tokenizer model "llama" with scores that
 * order the merges, byte-level BPE as "gpt2" with its merges and pre-tokenizer name. Anything else
 * is a GgufExportError naming the tokenizer model.
 */
export function tokenizerKvsFromHf(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  config: ModelConfig,
): GgufKv[] {
  const tj = (tokenizerJson ?? {}) as Json;
  const cfg = (tokenizerConfig ?? {}) as Json;
  const model = (tj.model ?? {}) as Json;
  if (model.type !== 'BPE') {
    throw new GgufExportError(
      'tokenizer.json',
      `tokenizer model "${String(model.type)}" cannot be written as a llama.cpp vocabulary (only sentencepiece-style BPE with byte fallback, as "llama", and byte-level BPE, as "gpt2")`,
    );
  }
  const vocab = (model.vocab ?? {}) as Record<string, number>;
  const added = (Array.isArray(tj.added_tokens) ? tj.added_tokens : []) as Json[];
  const byId = new Map<number, string>();
  for (const [tok, id] of Object.entries(vocab)) byId.set(id, tok);
  const special = new Set<number>();
  const userDefined = new Set<number>();
  for (const a of added) {
    const id = Number(a.id);
    byId.set(id, String(a.content));
    (a.special === true ? special : userDefined).add(id);
  }
  const n = Math.max(config.vocabSize, byId.size);
  const tokens: string[] = [];
  for (let id = 0; id < n; id++) {
    // Ids the tokenizer does not name (padding rows of the embedding) get a placeholder.
    tokens.push(byId.get(id) ?? `[PAD${id}]`);
  }
  const rawMerges = (Array.isArray(model.merges) ? model.merges : []) as unknown[];
  const merges = rawMerges.map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));
  const idOf = (v: unknown, names: string[], fb: number): number => {
    for (const name of [tokenContent(v), ...names]) {
      if (name === undefined) continue;
      const i = tokens.indexOf(name);
      if (i >= 0) return i;
    }
    return fb;
  };
  const bos = idOf(cfg.bos_token, ['<s>', '<|begin_of_text|>'], config.bosId);
  const eos = idOf(cfg.eos_token, ['</s>', '<|end_of_text|>', '<|endoftext|>'], config.eosId);
  const addEos = cfg.add_eos_token === true;
  const kvs: GgufKv[] = [];
  const decoders = parts(tj.decoder);
  const byteFallback = model.byte_fallback === true;
  const metaspace =
    decoders.some(
      (d) =>
        d.type === 'Metaspace' ||
        (d.type === 'Replace' && (d.pattern as Json | undefined)?.String === '▁'),
    ) || parts(tj.pre_tokenizer).some((p) => p.type === 'Metaspace');
  const byteLevel = decoders.some((d) => d.type === 'ByteLevel');
  if (byteFallback && metaspace) {
    // A merged piece scores minus the rank of its earliest merge, so llama.cpp's sentencepiece
    // tokenizer (highest score first, leftmost on ties) merges in the order BPE does.
    const rank = new Map<string, number>();
    merges.forEach((m, r) => {
      const piece = m.replace(' ', '');
      if (!rank.has(piece)) rank.set(piece, r);
    });
    const unk = tokenContent(model.unk_token);
    const types = tokens.map((t, id) =>
      special.has(id)
        ? t === unk
          ? TOKEN_UNKNOWN
          : TOKEN_CONTROL
        : userDefined.has(id)
          ? TOKEN_USER_DEFINED
          : /^<0x[0-9A-Fa-f]{2}>$/.test(t)
            ? TOKEN_BYTE
            : t === unk
              ? TOKEN_UNKNOWN
              : TOKEN_NORMAL,
    );
    const scores = tokens.map((t, id) =>
      types[id] === TOKEN_NORMAL ? -(rank.get(t) ?? (t.length > 1 ? merges.length : 0)) : 0,
    );
    const prepend =
      parts(tj.normalizer).some((p) => p.type === 'Prepend' && p.prepend === '▁') ||
      parts(tj.pre_tokenizer).some(
        (p) =>
          p.type === 'Metaspace' &&
          (p.prepend_scheme === 'always' ||
            p.prepend_scheme === 'first' ||
            p.add_prefix_space === true),
      );
    kvs.push(
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens },
      { key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', value: scores },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types },
      { key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: prepend },
    );
    const unkId = unk === undefined ? -1 : tokens.indexOf(unk);
    if (unkId >= 0) kvs.push({ key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: unkId });
  } else if (byteLevel && !byteFallback) {
    const pre = bpePreName(tj.pre_tokenizer);
    const types = tokens.map((_, id) =>
      special.has(id) ? TOKEN_CONTROL : userDefined.has(id) ? TOKEN_USER_DEFINED : TOKEN_NORMAL,
    );
    kvs.push(
      { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
      { key: 'tokenizer.ggml.pre', type: 'string', value: pre },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types },
      { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: merges },
    );
  } else {
    throw new GgufExportError(
      'tokenizer.json',
      `this BPE tokenizer is neither sentencepiece-style (byte_fallback ${String(model.byte_fallback ?? false)}, ▁ for spaces) nor byte-level (a ByteLevel decoder), so it cannot be written as a llama.cpp vocabulary`,
    );
  }
  // Whether Hugging Face's tokenizer(text) puts BOS first (add_bos_token, else the post_processor).
  const addBos = hfTokenizer(tokenizerJson, tokenizerConfig).addsBos;
  kvs.push(
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: bos },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: eos },
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: addBos },
    { key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: addEos },
  );
  if (typeof cfg.chat_template === 'string')
    kvs.push({ key: 'tokenizer.chat_template', type: 'string', value: cfg.chat_template });
  const pad = tokenContent(cfg.pad_token);
  const padId = pad === undefined ? -1 : tokens.indexOf(pad);
  if (padId >= 0) kvs.push({ key: 'tokenizer.ggml.padding_token_id', type: 'u32', value: padId });
  return kvs;
}

/**
 * The tokenizer metadata for an opened model: the source GGUF's tokenizer.* entries verbatim when
 * there is one, else built from tokenizer.json; a model with no tokenizer is refused.
 */
export function tokenizerKvs(
  tokenizer: TokenizerSource,
  config: ModelConfig,
  sourceGguf?: GgufFile,
): GgufKv[] {
  if (sourceGguf) return tokenizerKvsFromGguf(sourceGguf);
  if (tokenizer?.kind === 'hf') return tokenizerKvsFromHf(tokenizer.json, tokenizer.config, config);
  if (tokenizer?.kind === 'gguf-bpe') {
    const v = tokenizer.vocab;
    return [
      { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
      { key: 'tokenizer.ggml.pre', type: 'string', value: v.pre },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: v.tokens },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: v.types },
      { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: v.merges },
      ...(v.bosId === undefined
        ? []
        : [{ key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: v.bosId } as const]),
      { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: v.eosId },
      { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: v.addBos },
    ];
  }
  if (tokenizer?.kind === 'gguf') {
    const v = tokenizer.vocab;
    return [
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: v.tokens },
      { key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', value: v.scores },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: v.types },
      { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: v.bosId },
      { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: v.eosId },
      { key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: v.unkId },
      { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: v.addBos },
      { key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: v.addSpacePrefix },
    ];
  }
  throw new GgufExportError(
    'tokenizer.json',
    'the model has no tokenizer (tokenizer.json or a GGUF vocabulary); llama.cpp needs one in the GGUF',
  );
}

// ---------------------------------------------------------------------------------------------
// The merged model

/** The model's metadata under its GGUF architecture's prefix (llama, qwen2, qwen3: src/io/arch.ts). */
function archKvs(
  config: ModelConfig,
  o: { name: string; contextLength: number; rope: GgufRope },
): GgufKv[] {
  const p = archOf(config).ggufArch;
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: p },
    { key: 'general.name', type: 'string', value: o.name },
    { key: `${p}.context_length`, type: 'u32', value: o.contextLength },
    { key: `${p}.embedding_length`, type: 'u32', value: config.hidden },
    { key: `${p}.block_count`, type: 'u32', value: config.layers },
    { key: `${p}.feed_forward_length`, type: 'u32', value: config.intermediate },
    { key: `${p}.attention.head_count`, type: 'u32', value: config.heads },
    { key: `${p}.attention.head_count_kv`, type: 'u32', value: config.kvHeads },
    { key: `${p}.rope.dimension_count`, type: 'u32', value: config.headDim },
    { key: `${p}.rope.freq_base`, type: 'f32', value: config.ropeTheta },
    { key: `${p}.attention.layer_norm_rms_epsilon`, type: 'f32', value: config.rmsEps },
    { key: `${p}.vocab_size`, type: 'u32', value: config.vocabSize },
  ];
  if (config.headDim * config.heads !== config.hidden) {
    kvs.push(
      { key: `${p}.attention.key_length`, type: 'u32', value: config.headDim },
      { key: `${p}.attention.value_length`, type: 'u32', value: config.headDim },
    );
  }
  if (o.rope.kind === 'linear' && o.rope.factor !== 1) {
    kvs.push(
      { key: `${p}.rope.scaling.type`, type: 'string', value: 'linear' },
      { key: `${p}.rope.scaling.factor`, type: 'f32', value: o.rope.factor },
    );
  }
  return kvs;
}

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

function toType(values: Float32Array, dtype: GgufExportDtype, oneD: boolean): Uint8Array {
  return f32ToBytes(values, oneD ? 'F32' : WEIGHT[dtype]);
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
    const oneD = src.shape.length === 1;
    const type = oneD ? GGML.f32 : GGML[dtype];
    const n = numel(src.shape);
    tensors.push({
      name: hfToGgufName(hf, arch)!,
      dims: [...src.shape].reverse(),
      type,
      byteLength: n * DTYPE_BYTES[oneD ? 'f32' : dtype],
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
        return toType(values, dtype, oneD);
      },
    });
  }
  const kvs = [
    ...archKvs(config, input),
    { key: 'general.file_type', type: 'u32', value: FILE_TYPE[dtype] } as GgufKv,
    ...input.tokenizer,
  ];
  return planExport(kvs, tensors);
}

// ---------------------------------------------------------------------------------------------
// The LoRA adapter GGUF

/**
 * A llama.cpp LoRA adapter GGUF (general.type "adapter", adapter.type "lora", adapter.lora.alpha):
 * `<GGUF weight name>.lora_a` [r, in] and `.lora_b` [out, r] in f32, q/k B rows permuted as the
 * base GGUF's rows are. llama.cpp scales by alpha / r as PEFT does. An adapter with trained
 * embeddings or norms is refused: llama.cpp adapters carry only LoRA pairs.
 */
export function loraAdapterGguf(config: ModelConfig, a: ReadAdapter, name: string): GgufExport {
  if (a.trained.length) {
    throw new LoraGgufTrainedError(
      'adapter_model.safetensors',
      `this adapter also trained ${a.trained.length} embedding/norm tensors (LoRA+); a llama.cpp LoRA adapter can only carry LoRA pairs, so those would be lost. Export the merged GGUF instead`,
    );
  }
  if (!a.lora.length)
    throw new FormatError('adapter_model.safetensors', 'the adapter holds no LoRA pairs');
  const shapes = new Map<string, number[]>();
  checkAdapterShapes(config, a, shapes);
  const arch = archOf(config);
  const sorted = [...a.lora].sort((x, y) => x.layer - y.layer || x.module.localeCompare(y.module));
  const tensors: GgufStreamTensor[] = [];
  for (const l of sorted) {
    const [out, inF] = linearShape(config, l.module);
    const gguf = hfToGgufName(linearWeightName(l.layer, l.module, arch), arch)!;
    const r = a.r;
    const permuted = permuteRotaryRows(l.B, ggufRotaryRowsOfLinear(arch, config, l.module), r);
    tensors.push(
      {
        name: `${gguf}.lora_a`,
        dims: [inF, r],
        type: GGML.f32,
        byteLength: l.A.byteLength,
        produce: () => Promise.resolve(f32ToBytes(l.A, 'F32')),
      },
      {
        name: `${gguf}.lora_b`,
        dims: [r, out],
        type: GGML.f32,
        byteLength: permuted.byteLength,
        produce: () => Promise.resolve(f32ToBytes(permuted, 'F32')),
      },
    );
  }
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: arch.ggufArch },
    { key: 'general.type', type: 'string', value: 'adapter' },
    { key: 'general.name', type: 'string', value: name },
    { key: 'adapter.type', type: 'string', value: 'lora' },
    { key: 'adapter.lora.alpha', type: 'f32', value: a.alpha },
  ];
  return planExport(kvs, tensors);
}
