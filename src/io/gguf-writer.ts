/** A small GGUF v3 writer (little-endian): enough for fixtures and for exporting unquantized models. */
import { GGML_TYPES, GGUF_MAGIC, GGUF_VALUE_TYPES, type GgufValueType } from './gguf.ts';
import { InternalError } from '../util/errors.ts';

/** A metadata entry with its explicit GGUF type (arrays name their item type). */
export type GgufKv =
  | {
      key: string;
      type: Exclude<GgufValueType, 'array' | 'string' | 'bool'>;
      value: number | bigint;
    }
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'bool'; value: boolean }
  | {
      key: string;
      type: 'array';
      itemType: Exclude<GgufValueType, 'array'>;
      value: (number | string | boolean | bigint)[];
    };

/** A tensor: dims in GGUF order (dims[0] fastest), ggml type id, raw little-endian bytes. */
export interface GgufTensorToWrite {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
}

const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private grow(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const p = this.len;
    this.len += n;
    return p;
  }
  scalar(type: GgufValueType, v: number | bigint | boolean): void {
    const n = Number(v);
    const size = SCALAR_BYTES[type];
    if (size === undefined) throw new InternalError(`not a scalar GGUF type: ${type}`);
    const p = this.grow(size); // grow first: it may replace the view
    const d = this.view;
    if (type === 'u8' || type === 'bool') d.setUint8(p, type === 'bool' ? (v ? 1 : 0) : n);
    else if (type === 'i8') d.setInt8(p, n);
    else if (type === 'u16') d.setUint16(p, n, true);
    else if (type === 'i16') d.setInt16(p, n, true);
    else if (type === 'u32') d.setUint32(p, n, true);
    else if (type === 'i32') d.setInt32(p, n, true);
    else if (type === 'f32') d.setFloat32(p, n, true);
    else if (type === 'f64') d.setFloat64(p, n, true);
    else if (type === 'u64') d.setBigUint64(p, BigInt(v), true);
    else d.setBigInt64(p, BigInt(v), true);
  }
  u32(v: number): void {
    this.scalar('u32', v);
  }
  u64(v: number): void {
    this.scalar('u64', BigInt(v));
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  bytes(b: Uint8Array): void {
    const p = this.grow(b.length);
    this.buf.set(b, p);
  }
  pad(alignment: number): void {
    this.grow((alignment - (this.len % alignment)) % alignment);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const typeId = (t: GgufValueType): number => GGUF_VALUE_TYPES.indexOf(t);

/** A tensor's place in a GGUF: dims in GGUF order, ggml type id, and its byte length. */
export interface GgufTensorLayout {
  name: string;
  dims: number[];
  type: number;
  byteLength: number;
}

/**
 * The header of a GGUF v3 file (magic, metadata, tensor infos) padded to `alignment`: the tensors'
 * data follow in order, each padded to `alignment`. Returns the header and the whole file's size,
 * so a writer can stream the data after it without holding the file.
 */
export function ggufHeader(
  kvs: GgufKv[],
  tensors: GgufTensorLayout[],
  alignment = 32,
): { header: Uint8Array; fileBytes: number } {
  const w = new Writer();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const kv of kvs) {
    w.string(kv.key);
    w.u32(typeId(kv.type));
    if (kv.type === 'string') w.string(kv.value);
    else if (kv.type === 'array') {
      w.u32(typeId(kv.itemType));
      w.u64(kv.value.length);
      for (const item of kv.value) {
        if (kv.itemType === 'string') w.string(String(item));
        else w.scalar(kv.itemType, item as number | bigint | boolean);
      }
    } else w.scalar(kv.type, kv.value);
  }
  let rel = 0;
  for (const t of tensors) {
    const info = GGML_TYPES[t.type];
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (info && Math.ceil(n / info.block) * info.bytes !== t.byteLength) {
      throw new InternalError(
        `writeGguf: "${t.name}" has ${t.byteLength} bytes, not ${Math.ceil(n / info.block) * info.bytes}`,
      );
    }
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(rel);
    rel += Math.ceil(t.byteLength / alignment) * alignment;
  }
  w.pad(alignment);
  return { header: w.result(), fileBytes: w.len + rel };
}

/** Zero bytes that pad `n` bytes of tensor data to `alignment`. */
export function ggufPadding(n: number, alignment = 32): Uint8Array {
  return new Uint8Array((alignment - (n % alignment)) % alignment);
}

/** Serialises a GGUF v3 file; tensor data is laid out in order, each aligned to `alignment`. */
export function writeGguf(kvs: GgufKv[], tensors: GgufTensorToWrite[], alignment = 32): Uint8Array {
  const { header, fileBytes } = ggufHeader(
    kvs,
    tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, byteLength: t.data.length })),
    alignment,
  );
  const out = new Uint8Array(fileBytes);
  out.set(header);
  let p = header.length;
  for (const t of tensors) {
    out.set(t.data, p);
    p += Math.ceil(t.data.length / alignment) * alignment;
  }
  return out;
}
