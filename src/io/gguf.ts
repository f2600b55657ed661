/**
 * GGUF (v2, v3) reader: header, metadata of every value type, tensor infos, F32/F16/BF16 data and the
 * quantized blocks of src/io/quant.ts (dequantized to f32 as they are read).
 */
import type { WeightDtype } from './dtype.ts';
import { FormatError, UnsupportedModelError } from './errors.ts';
import { firstBadScale, QUANT_FORMATS, QUANT_TYPES, quantTypeOf, type QuantType } from './quant.ts';
import type { ByteSource } from './source.ts';
import { InternalError } from '../util/errors.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** Metadata value types, indexed by their GGUF type id. */
export const GGUF_VALUE_TYPES = [
  'u8',
  'i8',
  'u16',
  'i16',
  'u32',
  'i32',
  'f32',
  'bool',
  'string',
  'array',
  'u64',
  'i64',
  'f64',
] as const;
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** ggml tensor types by id: name, elements per block, bytes per block. */
export const GGML_TYPES: Record<number, { name: string; block: number; bytes: number }> = {
  0: { name: 'F32', block: 1, bytes: 4 },
  1: { name: 'F16', block: 1, bytes: 2 },
  2: { name: 'Q4_0', block: 32, bytes: 18 },
  3: { name: 'Q4_1', block: 32, bytes: 20 },
  6: { name: 'Q5_0', block: 32, bytes: 22 },
  7: { name: 'Q5_1', block: 32, bytes: 24 },
  8: { name: 'Q8_0', block: 32, bytes: 34 },
  9: { name: 'Q8_1', block: 32, bytes: 36 },
  10: { name: 'Q2_K', block: 256, bytes: 84 },
  11: { name: 'Q3_K', block: 256, bytes: 110 },
  12: { name: 'Q4_K', block: 256, bytes: 144 },
  13: { name: 'Q5_K', block: 256, bytes: 176 },
  14: { name: 'Q6_K', block: 256, bytes: 210 },
  15: { name: 'Q8_K', block: 256, bytes: 292 },
  16: { name: 'IQ2_XXS', block: 256, bytes: 66 },
  17: { name: 'IQ2_XS', block: 256, bytes: 74 },
  18: { name: 'IQ3_XXS', block: 256, bytes: 98 },
  19: { name: 'IQ1_S', block: 256, bytes: 50 },
  20: { name: 'IQ4_NL', block: 32, bytes: 18 },
  21: { name: 'IQ3_S', block: 256, bytes: 110 },
  22: { name: 'IQ2_S', block: 256, bytes: 82 },
  23: { name: 'IQ4_XS', block: 256, bytes: 136 },
  24: { name: 'I8', block: 1, bytes: 1 },
  25: { name: 'I16', block: 1, bytes: 2 },
  26: { name: 'I32', block: 1, bytes: 4 },
  27: { name: 'I64', block: 1, bytes: 8 },
  28: { name: 'F64', block: 1, bytes: 8 },
  29: { name: 'IQ1_M', block: 256, bytes: 56 },
  30: { name: 'BF16', block: 1, bytes: 2 },
  34: { name: 'TQ1_0', block: 256, bytes: 54 },
  35: { name: 'TQ2_0', block: 256, bytes: 66 },
};

/** The name of a ggml type id ("type 99" when unknown). */
export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.name ?? `type ${type}`;
}

/** One tensor: dims in GGUF order (dims[0] is the fastest), absolute data offset. */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: number;
  typeName: string;
  offset: number;
  /** Bytes of data, or null for a ggml type whose block size is unknown here. */
  byteLength: number | null;
}

export interface GgufFile {
  version: number;
  metadata: Record<string, GgufValue>;
  /** The value type of each key ("array" keys also list their item type). */
  types: Record<string, { type: GgufValueType; itemType?: GgufValueType }>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataStart: number;
}

/** A metadata value as a number (undefined when absent or not a number; 64-bit ones converted). */
export function metadataNumber(md: Record<string, GgufValue>, key: string): number | undefined {
  const v = md[key];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

class NeedMore extends Error {}

/** Arrays of arrays deeper than this are refused (the readers never need more than one level). */
const MAX_ARRAY_DEPTH = 4;

/** The fewest bytes a value of each type takes in the file. */
const MIN_VALUE_BYTES: Record<GgufValueType, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  string: 8,
  array: 12,
  u64: 8,
  i64: 8,
  f64: 8,
};

class Cursor {
  pos = 0;
  private view: DataView;
  constructor(private bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): number {
    if (this.pos + n > this.bytes.length) throw new NeedMore();
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u8 = () => this.view.getUint8(this.need(1));
  i8 = () => this.view.getInt8(this.need(1));
  u16 = () => this.view.getUint16(this.need(2), true);
  i16 = () => this.view.getInt16(this.need(2), true);
  u32 = () => this.view.getUint32(this.need(4), true);
  i32 = () => this.view.getInt32(this.need(4), true);
  f32 = () => this.view.getFloat32(this.need(4), true);
  f64 = () => this.view.getFloat64(this.need(8), true);
  u64(): number | bigint {
    const v = this.view.getBigUint64(this.need(8), true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  i64(): number | bigint {
    const v = this.view.getBigInt64(this.need(8), true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  }
  bytesOf(n: number): Uint8Array {
    const p = this.need(n);
    return this.bytes.subarray(p, p + n);
  }
}

const utf8 = new TextDecoder();

function parse(c: Cursor, file: string, fileSize: number): GgufFile {
  /** A count or length, refused when even `minBytes` per item could not fit in the rest of the file. */
  const count = (what: string, minBytes = 0): number => {
    const n = c.u64();
    if (typeof n !== 'number' || n > fileSize || n * minBytes > fileSize - c.pos)
      throw new FormatError(file, `implausible ${what} count ${n} (file is truncated or corrupt)`);
    return n;
  };
  const str = (): string => utf8.decode(c.bytesOf(count('string length', 1)));
  const value = (type: number, key: string, depth = 0): GgufValue => {
    switch (GGUF_VALUE_TYPES[type]) {
      case 'u8':
        return c.u8();
      case 'i8':
        return c.i8();
      case 'u16':
        return c.u16();
      case 'i16':
        return c.i16();
      case 'u32':
        return c.u32();
      case 'i32':
        return c.i32();
      case 'f32':
        return c.f32();
      case 'bool':
        return c.u8() !== 0;
      case 'string':
        return str();
      case 'u64':
        return c.u64();
      case 'i64':
        return c.i64();
      case 'f64':
        return c.f64();
      case 'array': {
        if (depth >= MAX_ARRAY_DEPTH)
          throw new FormatError(
            file,
            `metadata "${key}" nests arrays more than ${MAX_ARRAY_DEPTH} deep (corrupt or hostile file)`,
          );
        const itemType = c.u32();
        const name = GGUF_VALUE_TYPES[itemType];
        if (name === undefined)
          throw new FormatError(
            file,
            `metadata "${key}" is an array of unknown value type ${itemType}`,
          );
        // Every item takes at least its fixed size (a string or array at least its 8-byte length).
        const n = count(`metadata "${key}" array length`, MIN_VALUE_BYTES[name]);
        const out: GgufValue[] = [];
        for (let i = 0; i < n; i++) out.push(value(itemType, key, depth + 1));
        return out;
      }
      default:
        throw new FormatError(file, `metadata "${key}" has unknown value type ${type}`);
    }
  };

  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    throw new FormatError(
      file,
      `bad magic 0x${magic.toString(16).padStart(8, '0')} (not a GGUF file)`,
    );
  }
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (big-endian GGUF is not supported)' : '';
    throw new FormatError(file, `GGUF version ${version} is not supported (only 2 and 3)${hint}`);
  }
  // A tensor info takes at least 24 bytes, a metadata entry 13.
  const nTensors = count('tensor', 24);
  const nKv = count('metadata', 13);
  const metadata: Record<string, GgufValue> = {};
  const types: GgufFile['types'] = {};
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = c.u32();
    const save = c.pos;
    const itemType = GGUF_VALUE_TYPES[type] === 'array' ? c.u32() : undefined;
    c.pos = save;
    metadata[key] = value(type, key);
    const t = GGUF_VALUE_TYPES[type]!;
    types[key] =
      itemType === undefined
        ? { type: t }
        : { type: t, itemType: GGUF_VALUE_TYPES[itemType] ?? 'u8' };
  }
  const alignment =
    typeof metadata['general.alignment'] === 'number' ? metadata['general.alignment'] : 32;
  if (!(alignment > 0 && (alignment & (alignment - 1)) === 0)) {
    throw new FormatError(file, `general.alignment ${alignment} is not a power of two`);
  }
  const raw: { name: string; dims: number[]; type: number; rel: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nDims = c.u32();
    if (nDims > 8) throw new FormatError(file, `tensor "${name}" has ${nDims} dimensions`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(count(`tensor "${name}" dimension`));
    const type = c.u32();
    const rel = c.u64();
    if (typeof rel !== 'number')
      throw new FormatError(file, `tensor "${name}" offset ${rel} is out of range`);
    raw.push({ name, dims, type, rel });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = raw.map(({ name, dims, type, rel }): GgufTensorInfo => {
    const t = GGML_TYPES[type];
    const n = dims.reduce((a, b) => a * b, 1);
    // ggml stores blocks within rows: a row (dims[0] values) must be a whole number of blocks (an
    // unsupported type is refused by its name when the model is opened: ggufTensorType).
    if (t && t.block > 1 && quantTypeOf(type) && (dims[0] ?? 1) % t.block !== 0)
      throw new FormatError(
        file,
        `tensor "${name}" (${t.name}) has rows of ${dims[0] ?? 1} values, not a whole number of ${t.block}-value blocks`,
      );
    const byteLength = t ? (n / t.block) * t.bytes : null;
    const offset = dataStart + rel;
    if (rel % alignment !== 0)
      throw new FormatError(file, `tensor "${name}" offset ${rel} is not ${alignment}-aligned`);
    if (offset + (byteLength ?? 0) > fileSize) {
      throw new FormatError(
        file,
        `file is truncated: tensor "${name}" ends at ${offset + (byteLength ?? 0)}, past the end (${fileSize} bytes)`,
      );
    }
    return { name, dims, type, typeName: ggmlTypeName(type), offset, byteLength };
  });
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new FormatError(file, `tensor "${t.name}" is listed twice`);
    seen.add(t.name);
  }
  // Tensor data may not overlap (llama.cpp lays tensors out one after another).
  const byOffset = tensors.filter((t) => t.byteLength !== null).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const a = byOffset[i - 1]!;
    const b = byOffset[i]!;
    if (a.offset + a.byteLength! > b.offset)
      throw new FormatError(
        file,
        `tensor "${b.name}" (at ${b.offset - dataStart}) overlaps tensor "${a.name}" (${a.offset - dataStart} to ${a.offset - dataStart + a.byteLength!})`,
      );
  }
  return { version, metadata, types, tensors, alignment, dataStart };
}

/** Reads a GGUF header: metadata and tensor infos (reading a growing prefix until it parses). */
export async function readGguf(src: ByteSource): Promise<GgufFile> {
  let len = Math.min(src.size, 1 << 20);
  for (;;) {
    const bytes = await src.read(0, len);
    try {
      return parse(new Cursor(bytes), src.name, src.size);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      if (len >= src.size)
        throw new FormatError(
          src.name,
          `file is truncated: the header ends past ${src.size} bytes`,
        );
      len = Math.min(src.size, len * 4);
    }
  }
}

/** The GGUF tensor types the reader accepts: F32, F16, BF16 and the quantized types of quant.ts. */
export const GGUF_SUPPORTED_TYPES: readonly string[] = ['F32', 'F16', 'BF16', ...QUANT_TYPES];

/**
 * What a GGUF tensor holds: F32/F16/BF16, or a quantized type this reader dequantizes; any other ggml
 * type (Q2_K, Q3_K, IQ*, TQ*, MXFP4 …) is an UnsupportedModelError naming the tensor, its type and
 * the supported list.
 */
export function ggufTensorType(file: string, info: GgufTensorInfo): WeightDtype | QuantType {
  if (info.type === 0) return 'F32';
  if (info.type === 1) return 'F16';
  if (info.type === 30) return 'BF16';
  const q = quantTypeOf(info.type);
  if (q) return q;
  throw new UnsupportedModelError(
    file,
    `tensor "${info.name}" has ggml type ${info.typeName}, which this reader does not support (supported: ${GGUF_SUPPORTED_TYPES.join(', ')}); use a GGUF in one of those types or the Hugging Face checkpoint`,
  );
}

/**
 * The dtype of the bytes readGgufTensorBytes gives: the stored one for F32/F16/BF16, F32 for a
 * quantized tensor (dequantized on reading until the GPU keeps quantized blocks; issue 26 item 2).
 */
export function ggufTensorDtype(file: string, info: GgufTensorInfo): WeightDtype {
  const t = ggufTensorType(file, info);
  return t === 'F32' || t === 'F16' || t === 'BF16' ? t : 'F32';
}

/** Number of elements of a GGUF tensor. */
function elementsOf(info: GgufTensorInfo): number {
  return info.dims.reduce((a, b) => a * b, 1);
}

/** Bytes readGgufTensorBytes gives for a tensor (f32 bytes for a quantized one). */
export function ggufReadByteLength(file: string, info: GgufTensorInfo): number {
  const t = ggufTensorType(file, info);
  return t === 'F32' || t === 'F16' || t === 'BF16' ? info.byteLength! : elementsOf(info) * 4;
}

/** Quantized blocks dequantized per read: 1 MiB of f32 values at most. */
const DEQUANT_CHUNK_VALUES = 1 << 18;

/**
 * Values [first, first + count) of a quantized tensor as f32 (first and count need not fall on
 * blocks): reads only the blocks that hold them, a chunk at a time. A block with a non-finite scale
 * is a FormatError naming the tensor.
 */
export async function readGgufDequantized(
  src: ByteSource,
  info: GgufTensorInfo,
  type: QuantType,
  first: number,
  count: number,
): Promise<Float32Array<ArrayBuffer>> {
  const f = QUANT_FORMATS[type];
  const out = new Float32Array(count);
  const b0 = Math.floor(first / f.block);
  const b1 = Math.ceil((first + count) / f.block);
  const perChunk = Math.max(1, Math.floor(DEQUANT_CHUNK_VALUES / f.block));
  const values = new Float32Array(Math.min(perChunk, b1 - b0) * f.block);
  for (let b = b0; b < b1; b += perChunk) {
    const n = Math.min(perChunk, b1 - b);
    const bytes = await src.read(info.offset + b * f.bytes, n * f.bytes);
    if (bytes.length !== n * f.bytes)
      throw new FormatError(src.name, `file is truncated in tensor "${info.name}"`);
    const bad = f.decode(bytes, 0, n, values, 0);
    if (bad >= 0)
      throw new FormatError(
        src.name,
        `tensor "${info.name}" (${type}) has a non-finite scale (infinity or NaN) in block ${b + bad}`,
      );
    // This chunk's values [b·block, (b + n)·block) clipped to the range asked for.
    const lo = Math.max(first, b * f.block);
    const hi = Math.min(first + count, (b + n) * f.block);
    out.set(values.subarray(lo - b * f.block, hi - b * f.block), lo - first);
  }
  return out;
}

/** Reads one tensor's bytes: F32/F16/BF16 as stored, a quantized one dequantized to f32. */
export async function readGgufTensorBytes(
  src: ByteSource,
  info: GgufTensorInfo,
): Promise<Uint8Array> {
  const type = ggufTensorType(src.name, info);
  if (type !== 'F32' && type !== 'F16' && type !== 'BF16') {
    const v = await readGgufDequantized(src, info, type, 0, elementsOf(info));
    return new Uint8Array(v.buffer);
  }
  const n = info.byteLength!;
  const bytes = await src.read(info.offset, n);
  if (bytes.length !== n)
    throw new FormatError(src.name, `file is truncated in tensor "${info.name}"`);
  return bytes;
}

/**
 * Bytes [byteOffset, byteOffset + byteLength) of what readGgufTensorBytes gives for a tensor, reading
 * only those bytes (for a quantized tensor, only the blocks that hold those whole f32 values).
 */
export async function readGgufTensorRange(
  src: ByteSource,
  info: GgufTensorInfo,
  byteOffset: number,
  byteLength: number,
): Promise<Uint8Array> {
  const type = ggufTensorType(src.name, info);
  const total = ggufReadByteLength(src.name, info);
  const quantized = type !== 'F32' && type !== 'F16' && type !== 'BF16';
  if (
    byteOffset < 0 ||
    byteLength < 0 ||
    byteOffset + byteLength > total ||
    (quantized && (byteOffset % 4 !== 0 || byteLength % 4 !== 0))
  )
    throw new InternalError(
      `bytes ${byteOffset}+${byteLength} of tensor "${info.name}" are not whole values inside it (${total} bytes)`,
    );
  if (quantized) {
    const v = await readGgufDequantized(src, info, type, byteOffset / 4, byteLength / 4);
    return new Uint8Array(v.buffer);
  }
  const bytes = await src.read(info.offset + byteOffset, byteLength);
  if (bytes.length !== byteLength) throw new FormatError(src.name, 'file is truncated');
  return bytes;
}

/**
 * Rows [row0, row0 + rows) of a quantized 2-D tensor as its ggml blocks, as stored (a row is
 * dims[0] values, whole blocks: ggml quantizes by rows). For the GPU, which keeps them quantized
 * (issue 26 item 2). A block with a non-finite scale is a FormatError naming the tensor, as for the
 * dequantizing reads.
 */
export async function readGgufBlocks(
  src: ByteSource,
  info: GgufTensorInfo,
  type: QuantType,
  row0: number,
  rows: number,
): Promise<Uint8Array> {
  const f = QUANT_FORMATS[type];
  const cols = info.dims[0]!;
  const total = elementsOf(info) / cols;
  if (cols % f.block !== 0 || row0 < 0 || rows < 0 || row0 + rows > total)
    throw new InternalError(
      `rows ${row0}+${rows} of tensor "${info.name}" are not whole ${type} rows inside it (${total} rows of ${cols})`,
    );
  const rowBytes = (cols / f.block) * f.bytes;
  const bytes = await src.read(info.offset + row0 * rowBytes, rows * rowBytes);
  if (bytes.length !== rows * rowBytes)
    throw new FormatError(src.name, `file is truncated in tensor "${info.name}"`);
  const bad = firstBadScale(type, bytes);
  if (bad >= 0)
    throw new FormatError(
      src.name,
      `tensor "${info.name}" (${type}) has a non-finite scale (infinity or NaN) in block ${(row0 * rowBytes) / f.bytes + bad}`,
    );
  return bytes;
}
