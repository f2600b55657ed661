/** Model loading front-end: recognises an HF folder, a safetensors file with config.json, or a GGUF. */
import { archOf } from './arch.ts';
import { checkWeightsAgainstConfig, parseHfConfig, type ModelConfig } from './config.ts';
import { dtypeBytes, numel, type WeightDtype } from './dtype.ts';
import { FormatError, UnsupportedModelError } from './errors.ts';
import {
  ggufReadByteLength,
  ggufTensorDtype,
  ggufTensorType,
  readGguf,
  readGgufBlocks,
  readGgufTensorBytes,
  readGgufTensorRange,
  type GgufTensorInfo,
} from './gguf.ts';
import { ggufRotaryRows, type RotaryRows } from './block.ts';
import {
  ggufDimsToShape,
  ggufToHfName,
  ggufToModelConfig,
  permuteRotaryRows,
} from './gguf-llama.ts';
import {
  readSafetensorsHeader,
  readShardedSafetensors,
  readTensorBytes,
  type ShardedTensor,
} from './safetensors.ts';
import { baseName, readJson, type ByteSource } from './source.ts';
import { bpeTokenizer, bpeVocabFromGguf, type BpeVocab } from './gguf-bpe.ts';
import { spmTokenizer, spmVocabFromGguf, type SpmVocab } from './spm.ts';
import { hfTokenizer, type Tokenizer } from './tokenizer.ts';
import { InternalError } from '../util/errors.ts';
import { QUANT_FORMATS, type QuantType } from './quant.ts';

/** One weight of an opened model, under its Hugging Face name and shape. */
export interface ModelTensor {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  byteLength: number;
  /** The file the bytes come from. */
  file: string;
  /**
   * How the file stores it, when not as `dtype`: a quantized GGUF tensor (its ggml type and bytes in
   * the file). read() and readRange() dequantize it to f32 (for the trained embedding, merging and
   * export); readBlocks gives its rows as the ggml blocks themselves, which the GPU keeps (issue 26
   * item 2): rows [row0, row0 + rows), in read()'s row order.
   */
  stored?: {
    type: QuantType;
    byteLength: number;
    readBlocks(row0: number, rows: number): Promise<Uint8Array>;
  };
  /** Streams this tensor's bytes (GGUF q/k come back in HF rotate-half row order). */
  read(): Promise<Uint8Array>;
  /** Reads `byteLength` bytes from `byteOffset` into the tensor (in read()'s row order). */
  readRange(byteOffset: number, byteLength: number): Promise<Uint8Array>;
}

/** Reads [offset, offset + length) of a tensor stored at [begin, end) of `src`; truncation is an error. */
async function readTensorRange(
  src: ByteSource,
  begin: number,
  end: number,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || begin + offset + length > end)
    throw new InternalError(
      `bytes ${offset}+${length} lie outside the tensor (${end - begin} bytes)`,
    );
  const bytes = await src.read(begin + offset, length);
  if (bytes.length !== length) throw new FormatError(src.name, 'file is truncated');
  return bytes;
}

/** Where the tokenizer comes from: tokenizer.json (+ config), a GGUF vocabulary, or nowhere. */
export type TokenizerSource =
  | { kind: 'hf'; json: unknown; config: unknown }
  | { kind: 'gguf'; vocab: SpmVocab }
  | { kind: 'gguf-bpe'; vocab: BpeVocab }
  | null;

export interface OpenedModel {
  format: 'safetensors' | 'gguf';
  config: ModelConfig;
  /** Distinct storage dtypes of the weights. */
  dtypes: WeightDtype[];
  parameterCount: number;
  tensors: ModelTensor[];
  tokenizer: TokenizerSource;
  /** Files a complete model would have that were not given (e.g. tokenizer.json). */
  missing: string[];
  /** Files given that play no part, and tensors the model does not use. */
  unexpected: string[];
}

/** Files that belong to an HF model folder but are not needed here (as are sentencepiece *.model files). */
const HARMLESS = new Set([
  'generation_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'README.md',
  '.gitattributes',
  'LICENSE',
]);

/** Opens a model from its files; throws a FormatError when they do not make a model this studio can train. */
export async function openModel(files: ByteSource[]): Promise<OpenedModel> {
  const by = new Map(files.map((f) => [baseName(f.name), f]));
  const ggufs = files.filter((f) => f.name.toLowerCase().endsWith('.gguf'));
  // A Hugging Face folder (config.json + .safetensors) wins over a .gguf lying beside it.
  const hf =
    by.has('config.json') && files.some((f) => f.name.toLowerCase().endsWith('.safetensors'));
  if (ggufs.length > 1 && !hf)
    throw new FormatError(
      ggufs[1]!.name,
      'more than one .gguf file given; open one model at a time',
    );
  const model = ggufs.length && !hf ? await openGguf(ggufs[0]!) : await openSafetensors(files, by);
  const used = new Set(model.usedFiles);
  const unexpected = files
    .filter((f) => !used.has(f) && !HARMLESS.has(baseName(f.name)) && !f.name.endsWith('.model'))
    .map((f) => f.name);
  return { ...model.opened, unexpected: [...unexpected, ...model.opened.unexpected] };
}

/**
 * Bytes of the weights per type as the files store them (a quantized GGUF's ggml types, else the
 * dtypes), largest first: e.g. Q4_K 61.2 MiB, Q6_K 12.1 MiB, F32 0.3 MiB.
 */
export function storedTypes(tensors: readonly ModelTensor[]): { type: string; bytes: number }[] {
  const by = new Map<string, number>();
  for (const t of tensors) {
    const s = t.stored ?? { type: t.dtype, byteLength: t.byteLength };
    by.set(s.type, (by.get(s.type) ?? 0) + s.byteLength);
  }
  return [...by].map(([type, bytes]) => ({ type, bytes })).sort((a, b) => b.bytes - a.bytes);
}

function summarize(tensors: ModelTensor[]): { dtypes: WeightDtype[]; parameterCount: number } {
  const dtypes = [...new Set(tensors.map((t) => t.dtype))];
  const parameterCount = tensors.reduce((n, t) => n + numel(t.shape), 0);
  return { dtypes, parameterCount };
}

async function openGguf(
  src: ByteSource,
): Promise<{ opened: OpenedModel; usedFiles: ByteSource[] }> {
  const gguf = await readGguf(src);
  const config = ggufToModelConfig(src.name, gguf);
  const arch = archOf(config);
  const tensors: ModelTensor[] = [];
  const unexpected: string[] = [];
  for (const info of gguf.tensors) {
    // Llama 3.1+ GGUFs carry their "llama3" RoPE scaling as per-frequency divisors in rope_freqs;
    // run without them the model would silently use plain RoPE at long positions.
    if (info.name === 'rope_freqs.weight')
      throw new UnsupportedModelError(
        src.name,
        'this GGUF scales RoPE with a rope_freqs tensor (Llama 3.1+ "llama3" frequencies), which ' +
          'the GGUF reader does not apply yet; open the Hugging Face folder of the model instead ' +
          '(its config.json rope_scaling is applied exactly)',
      );
    const name = ggufToHfName(info.name, arch);
    if (name === null) {
      unexpected.push(info.name);
      continue;
    }
    const dtype = ggufTensorDtype(src.name, info);
    const type = ggufTensorType(src.name, info);
    const shape = ggufDimsToShape(info.dims);
    // llama GGUFs hold q/k rows in interleaved rotary order; qwen2/qwen3 keep HF's (src/io/arch.ts).
    const rotary = ggufRotaryRows(arch, config, name);
    tensors.push({
      name,
      shape,
      dtype,
      byteLength: ggufReadByteLength(src.name, info),
      ...(type !== dtype && {
        stored: {
          type: type as QuantType,
          byteLength: info.byteLength!,
          readBlocks: (row0: number, rows: number) =>
            readBlocksRotary(src, info, type as QuantType, rotary, shape, row0, rows),
        },
      }),
      file: src.name,
      read: () => readGgufRotary(src, info, rotary, shape, dtype),
      // q/k rows are permuted across the whole tensor: those are read whole (they are small).
      readRange: async (offset, length) =>
        rotary.length
          ? (await readGgufRotary(src, info, rotary, shape, dtype)).subarray(
              offset,
              offset + length,
            )
          : readGgufTensorRange(src, info, offset, length),
    });
  }
  const check = checkWeightsAgainstConfig(config, tensors, src.name);
  let tokenizer: TokenizerSource = null;
  const missing: string[] = [];
  try {
    // Sentencepiece ("llama") or byte-level BPE ("gpt2": Qwen, Llama 3, SmolLM2).
    tokenizer =
      gguf.metadata['tokenizer.ggml.model'] === 'gpt2'
        ? { kind: 'gguf-bpe', vocab: bpeVocabFromGguf(src.name, gguf) }
        : { kind: 'gguf', vocab: spmVocabFromGguf(src.name, gguf) };
  } catch {
    missing.push('tokenizer.json');
  }
  return {
    opened: {
      format: 'gguf',
      config,
      ...summarize(tensors),
      tensors,
      tokenizer,
      missing,
      unexpected: [...unexpected, ...check.unexpected],
    },
    usedFiles: [src],
  };
}

/** A GGUF tensor's bytes with its rotated rows (q, k) back in HF rotate-half order. */
async function readGgufRotary(
  src: ByteSource,
  info: GgufTensorInfo,
  rotary: readonly RotaryRows[],
  shape: number[],
  dtype: WeightDtype,
): Promise<Uint8Array> {
  const bytes = await readGgufTensorBytes(src, info);
  return permuteRotaryRows(bytes, rotary, shape[1]! * dtypeBytes(dtype), true);
}

/**
 * Rows of a quantized GGUF tensor as its ggml blocks, q/k rows back in HF rotate-half order (whole
 * rows of blocks move; those tensors are read whole, they are small).
 */
async function readBlocksRotary(
  src: ByteSource,
  info: GgufTensorInfo,
  type: QuantType,
  rotary: readonly RotaryRows[],
  shape: number[],
  row0: number,
  rows: number,
): Promise<Uint8Array> {
  if (!rotary.length) return readGgufBlocks(src, info, type, row0, rows);
  const f = QUANT_FORMATS[type];
  const rowBytes = (shape[1]! / f.block) * f.bytes;
  const whole = await readGgufBlocks(src, info, type, 0, shape[0]!);
  const hf = permuteRotaryRows(whole, rotary, rowBytes, true);
  return hf.subarray(row0 * rowBytes, (row0 + rows) * rowBytes);
}

async function openSafetensors(
  files: ByteSource[],
  by: Map<string, ByteSource>,
): Promise<{ opened: OpenedModel; usedFiles: ByteSource[] }> {
  const configSrc = by.get('config.json');
  const index = by.get('model.safetensors.index.json');
  const shards = files.filter(
    (f) => f.name.endsWith('.safetensors') && !baseName(f.name).startsWith('adapter_'),
  );
  if (!shards.length) {
    throw new FormatError(
      files[0]?.name ?? '(no files)',
      'no model found: give a .gguf, or .safetensors weights with config.json',
    );
  }
  if (!configSrc)
    throw new FormatError(
      shards[0]!.name,
      'config.json is missing: it must come with .safetensors weights',
    );
  const config = parseHfConfig(await readJson(configSrc), configSrc.name);
  const used: ByteSource[] = [configSrc];
  let raw: ShardedTensor[];
  if (index) {
    raw = await readShardedSafetensors(index, shards);
    used.push(index, ...new Set(raw.map((t) => t.source)));
  } else {
    raw = [];
    const seen = new Map<string, string>();
    for (const src of shards) {
      for (const t of (await readSafetensorsHeader(src)).tensors) {
        const other = seen.get(t.name);
        if (other) throw new FormatError(src.name, `tensor "${t.name}" is also in ${other}`);
        seen.set(t.name, src.name);
        raw.push({ ...t, source: src });
      }
      used.push(src);
    }
  }
  const tensors: ModelTensor[] = raw.map((t) => ({
    name: t.name,
    shape: t.shape,
    dtype: t.dtype,
    byteLength: t.end - t.begin,
    file: t.source.name,
    read: () => readTensorBytes(t.source, t),
    readRange: (offset, length) => readTensorRange(t.source, t.begin, t.end, offset, length),
  }));
  const check = checkWeightsAgainstConfig(config, tensors, index?.name ?? shards[0]!.name);
  const missing: string[] = [];
  const tokJson = by.get('tokenizer.json');
  const tokCfg = by.get('tokenizer_config.json');
  if (!tokJson) missing.push('tokenizer.json');
  if (!tokCfg) missing.push('tokenizer_config.json');
  if (tokJson) used.push(tokJson);
  if (tokCfg) used.push(tokCfg);
  const tokenizer: TokenizerSource = tokJson
    ? { kind: 'hf', json: await readJson(tokJson), config: tokCfg ? await readJson(tokCfg) : {} }
    : null;
  return {
    opened: {
      format: 'safetensors',
      config,
      ...summarize(tensors),
      tensors,
      tokenizer,
      missing,
      unexpected: check.unexpected,
    },
    usedFiles: used,
  };
}

/** Builds the tokenizer an opened model carries (null when it has none). */
export function createTokenizer(source: TokenizerSource, config?: ModelConfig): Tokenizer | null {
  if (source === null) return null;
  if (source.kind === 'gguf') return spmTokenizer(source.vocab);
  if (source.kind === 'gguf-bpe') return bpeTokenizer(source.vocab);
  // BOS comes from the tokenizer files alone, as in Hugging Face (config.json's bos_token_id is not
  // the tokenizer's: Qwen's names <|endoftext|> while its tokenizer has no BOS).
  return hfTokenizer(source.json, source.config, { eosId: config?.eosId });
}
