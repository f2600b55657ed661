/** safetensors: header reader with strict validation, tensor reads by range, sharded index, writer. */
import { dtypeBytes, f32ToBytes, numel, WEIGHT_DTYPES, type WeightDtype } from './dtype.ts';
import { describeValue, FormatError, UnsupportedModelError } from './errors.ts';
import { baseName, readJson, type ByteSource } from './source.ts';
import { InternalError } from '../util/errors.ts';

/** Headers larger than this are refused (the official implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Dtypes safetensors defines that this studio does not train from. */
const KNOWN_UNSUPPORTED = ['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F64'];
const KNOWN_PREFIXES = ['F8_', 'F6_', 'F4', 'E8M0'];

/** One tensor of a safetensors file; begin/end are absolute byte offsets in `file`. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: WeightDtype;
  shape: number[];
  begin: number;
  end: number;
  file: string;
}

/** A parsed header: tensors in file order, `__metadata__` strings, where the data starts. */
export interface SafetensorsHeader {
  tensors: SafetensorsTensorInfo[];
  metadata: Record<string, string>;
  dataStart: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNatural(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseDtype(file: string, name: string, dtype: unknown): WeightDtype {
  if (typeof dtype !== 'string')
    throw new FormatError(file, `tensor "${name}" has no dtype string`);
  if ((WEIGHT_DTYPES as readonly string[]).includes(dtype)) return dtype as WeightDtype;
  if (KNOWN_UNSUPPORTED.includes(dtype) || KNOWN_PREFIXES.some((p) => dtype.startsWith(p))) {
    throw new UnsupportedModelError(
      file,
      `tensor "${name}" has dtype ${dtype}, which is not supported (only F32, F16, BF16)`,
    );
  }
  throw new FormatError(file, `tensor "${name}" has unknown dtype "${dtype}"`);
}

/** Reads and validates a safetensors header (offsets, sizes, dtypes); tensor data is not read. */
export async function readSafetensorsHeader(src: ByteSource): Promise<SafetensorsHeader> {
  const file = src.name;
  if (src.size < 8)
    throw new FormatError(file, `file is ${src.size} bytes, shorter than the 8-byte header length`);
  const lenBytes = await src.read(0, 8);
  const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES) {
    throw new FormatError(
      file,
      `header length ${n} bytes is over the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  if (8 + n > src.size) {
    throw new FormatError(
      file,
      `header length ${n} runs past the end of the file (${src.size} bytes)`,
    );
  }
  const text = new TextDecoder().decode(await src.read(8, n));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw new FormatError(file, 'header JSON is not an object');

  const dataStart = 8 + n;
  const dataLength = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isObject(entry)) throw new FormatError(file, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string')
          throw new FormatError(file, `__metadata__ "${k}" is ${describeValue(v)}, not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isObject(entry)) throw new FormatError(file, `tensor "${name}" entry is not an object`);
    const dtype = parseDtype(file, name, entry.dtype);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every(isNatural)) {
      throw new FormatError(file, `tensor "${name}" has an invalid shape ${describeValue(shape)}`);
    }
    const offs = entry.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every(isNatural) ||
      (offs[0] as number) > (offs[1] as number)
    ) {
      throw new FormatError(
        file,
        `tensor "${name}" has invalid data_offsets ${describeValue(offs)}`,
      );
    }
    const [b, e] = offs as [number, number];
    if (e > dataLength) {
      throw new FormatError(
        file,
        `tensor "${name}" data_offsets [${b}, ${e}] are out of range (data section is ${dataLength} bytes)`,
      );
    }
    const expected = numel(shape as number[]) * dtypeBytes(dtype);
    if (e - b !== expected) {
      throw new FormatError(
        file,
        `tensor "${name}" has ${e - b} bytes but shape [${shape.join(', ')}] × ${dtype} needs ${expected}`,
      );
    }
    tensors.push({
      name,
      dtype,
      shape: shape as number[],
      begin: dataStart + b,
      end: dataStart + e,
      file,
    });
  }

  // The data section must be exactly tiled by the tensors: no overlap, no hole, no trailing bytes.
  const sorted = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = dataStart;
  let prev = '';
  for (const t of sorted) {
    if (t.begin < pos) {
      throw new FormatError(
        file,
        `tensor "${t.name}" overlaps tensor "${prev}" (offsets ${t.begin - dataStart} < ${pos - dataStart})`,
      );
    }
    if (t.begin > pos) {
      throw new FormatError(
        file,
        `data offsets do not cover the data: ${t.begin - pos} unused bytes before tensor "${t.name}"`,
      );
    }
    pos = t.end;
    prev = t.name;
  }
  if (pos !== src.size) {
    throw new FormatError(
      file,
      `data offsets do not cover the data: ${src.size - pos} bytes after the last tensor`,
    );
  }
  tensors.sort((x, y) => x.begin - y.begin);
  return { tensors, metadata, dataStart };
}

/** Reads one tensor's bytes. */
export async function readTensorBytes(
  src: ByteSource,
  info: { begin: number; end: number },
): Promise<Uint8Array> {
  const bytes = await src.read(info.begin, info.end - info.begin);
  if (bytes.length !== info.end - info.begin) throw new FormatError(src.name, 'file is truncated');
  return bytes;
}

/** A tensor of a (possibly sharded) checkpoint, with the source its bytes live in. */
export interface ShardedTensor extends SafetensorsTensorInfo {
  source: ByteSource;
}

/**
 * Reads `model.safetensors.index.json` and the headers of the shards it names.
 * Shards are matched by base name; missing ones are listed in the error.
 */
export async function readShardedSafetensors(
  index: ByteSource,
  shards: ByteSource[],
): Promise<ShardedTensor[]> {
  const json = await readJson(index);
  if (!isObject(json) || !isObject(json.weight_map)) {
    throw new FormatError(index.name, 'index has no "weight_map" object');
  }
  const weightMap = json.weight_map;
  for (const [tensor, f] of Object.entries(weightMap)) {
    if (typeof f !== 'string' || !f.endsWith('.safetensors'))
      throw new FormatError(
        index.name,
        `weight_map says tensor "${tensor}" is in ${describeValue(f)}, not a .safetensors file name`,
      );
  }
  const byName = new Map(shards.map((s) => [baseName(s.name), s]));
  const needed = [...new Set(Object.values(weightMap).map(String))];
  const missing = needed.filter((f) => !byName.has(baseName(f)));
  if (missing.length) {
    throw new FormatError(
      index.name,
      `missing shard file${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
    );
  }
  const out: ShardedTensor[] = [];
  for (const shardName of needed) {
    const src = byName.get(baseName(shardName))!;
    const header = await readSafetensorsHeader(src);
    const present = new Set(header.tensors.map((t) => t.name));
    for (const [tensor, f] of Object.entries(weightMap)) {
      if (String(f) === shardName && !present.has(tensor)) {
        throw new FormatError(
          src.name,
          `index says tensor "${tensor}" is in this shard, but it is not`,
        );
      }
    }
    for (const t of header.tensors) out.push({ ...t, source: src });
  }
  return out;
}

/** A tensor to write: raw little-endian bytes of the dtype, or f32 values converted to it. */
export interface TensorToWrite {
  name: string;
  dtype: WeightDtype;
  shape: number[];
  data: Uint8Array | Float32Array;
}

/** Serialises tensors (in the given order) to a safetensors file; the header is space-padded to 8 bytes. */
export function writeSafetensors(
  tensors: TensorToWrite[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.data instanceof Float32Array ? f32ToBytes(t.data, t.dtype) : t.data;
    const expected = numel(t.shape) * dtypeBytes(t.dtype);
    if (bytes.length !== expected) {
      throw new InternalError(
        `writeSafetensors: "${t.name}" has ${bytes.length} bytes, shape × ${t.dtype} needs ${expected}`,
      );
    }
    header[t.name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  json += ' '.repeat(padded - jsonBytes.length);
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(new TextEncoder().encode(json), 8);
  let pos = 8 + padded;
  for (const b of blobs) {
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}
