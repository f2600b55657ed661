/**
 * A writer for PyTorch's own checkpoint format (`torch.save` since PyTorch 1.6): a zip archive, every
 * entry stored uncompressed under one top-level folder (`archive/`), holding
 *
 * - `data.pkl`: a pickle (protocol 2) that rebuilds an `OrderedDict` of tensors. Each tensor is
 *   `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`, and
 *   each storage is a persistent id `('storage', torch.FloatStorage, key, 'cpu', numel)` that the
 *   loader resolves to the record `data/<key>`;
 * - `byteorder` ("little", written since PyTorch 2.1; older loaders ignore it);
 * - `data/<key>`: a storage's raw little-endian bytes, records in sorted key order;
 * - `version` ("3\n", the record format torch.save has always produced).
 *
 * Like PyTorch's writer, every entry's data starts at a multiple of 64 bytes: the local header
 * carries an extra field "FB" filled with 'Z' up to that offset. Only the pickle opcodes and globals
 * that `torch.load(..., weights_only=True)` accepts (PyTorch 1.13 onwards) are written.
 */
import { FormatError } from './errors.ts';

/** One tensor to save: row-major, contiguous. */
export interface TorchTensorToWrite {
  name: string;
  shape: number[];
  /** f32 values (saved as torch.float32). */
  data: Float32Array;
}

const ALIGN = 64;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const END_RECORD = 22;
const U32_LIMIT = 0xffffffff;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, the zip checksum). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Pickle protocol 2 opcodes, as Python's pickler emits them for a state dict. */
class Pickler {
  private out: number[] = [];
  private memo = new Map<string, number>();

  byte(...b: number[]): void {
    for (const x of b) this.out.push(x);
  }
  private u32(n: number): void {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  private put(): void {
    const id = this.memoCount++;
    if (id < 256)
      this.byte(0x71, id); // BINPUT
    else {
      this.byte(0x72); // LONG_BINPUT
      this.u32(id);
    }
  }
  private memoCount = 0;
  private get(key: string): boolean {
    const id = this.memo.get(key);
    if (id === undefined) return false;
    if (id < 256)
      this.byte(0x68, id); // BINGET
    else {
      this.byte(0x6a); // LONG_BINGET
      this.u32(id);
    }
    return true;
  }
  /** GLOBAL 'module\nname\n', memoized like Python does. */
  global(module: string, name: string): void {
    const key = `g:${module}.${name}`;
    if (this.get(key)) return;
    this.byte(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
    this.memo.set(key, this.memoCount);
    this.put();
  }
  /** BINUNICODE (strings are memoized; repeated ones become BINGET). */
  str(s: string): void {
    const key = `s:${s}`;
    if (this.get(key)) return;
    const b = new TextEncoder().encode(s);
    this.byte(0x58);
    this.u32(b.length);
    for (const x of b) this.out.push(x);
    this.memo.set(key, this.memoCount);
    this.put();
  }
  int(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff)
      throw new FormatError('trainable_params.bin', `cannot pickle ${n} as a 32-bit int`);
    if (n < 0x100)
      this.byte(0x4b, n); // BININT1
    else if (n < 0x10000)
      this.byte(0x4d, n & 0xff, n >>> 8); // BININT2
    else {
      this.byte(0x4a); // BININT
      this.u32(n);
    }
  }
  /** A tuple of ints: EMPTY_TUPLE, TUPLE1-3, or MARK … TUPLE; memoized (BINPUT) like Python. */
  intTuple(xs: number[]): void {
    if (xs.length === 0) {
      this.byte(0x29);
      return;
    }
    if (xs.length > 3) this.byte(0x28);
    for (const x of xs) this.int(x);
    this.byte(xs.length === 1 ? 0x85 : xs.length === 2 ? 0x86 : xs.length === 3 ? 0x87 : 0x74);
    this.put();
  }
  /** Memo slot for a value built just now (a tuple or a REDUCE result). */
  memoize(): void {
    this.put();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** The pickle of an OrderedDict name → tensor whose storages are keyed "0", "1", … in order. */
function pickleStateDict(tensors: TorchTensorToWrite[]): Uint8Array {
  const p = new Pickler();
  p.byte(0x80, 2); // PROTO 2
  p.global('collections', 'OrderedDict');
  p.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE
  p.memoize();
  if (tensors.length) p.byte(0x28); // MARK
  tensors.forEach((t, i) => {
    p.str(t.name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.byte(0x28); // MARK (the arguments)
    p.byte(0x28); // MARK (the persistent id)
    p.str('storage');
    p.global('torch', 'FloatStorage');
    p.str(String(i));
    p.str('cpu');
    p.int(t.data.length);
    p.byte(0x74); // TUPLE
    p.memoize();
    p.byte(0x51); // BINPERSID
    p.int(0); // storage offset
    p.intTuple(t.shape);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.intTuple(stride);
    p.byte(0x89); // NEWFALSE: requires_grad
    p.global('collections', 'OrderedDict'); // backward hooks: an empty OrderedDict
    p.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    p.memoize();
    p.byte(0x74); // TUPLE (the arguments)
    p.memoize();
    p.byte(0x52); // REDUCE
    p.memoize();
  });
  if (tensors.length) p.byte(0x75); // SETITEMS
  p.byte(0x2e); // STOP
  return p.bytes();
}

interface Entry {
  name: string;
  data: Uint8Array;
}

/** A stored (uncompressed) zip whose entries' data start at multiples of 64 bytes, as PyTorch writes. */
function zipAligned(entries: Entry[]): Uint8Array {
  const enc = new TextEncoder();
  const layout: { name: Uint8Array; pad: number; offset: number; crc: number; data: Uint8Array }[] =
    [];
  let cursor = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const start = cursor + LOCAL_HEADER + name.length + 4; // data start with an empty "FB" field
    const pad = (ALIGN - (start % ALIGN)) % ALIGN;
    layout.push({ name, pad, offset: cursor, crc: crc32(e.data), data: e.data });
    cursor = start + pad + e.data.length;
  }
  const centralStart = cursor;
  const centralSize = layout.reduce((s, l) => s + CENTRAL_HEADER + l.name.length, 0);
  const total = centralStart + centralSize + END_RECORD;
  if (total > U32_LIMIT || entries.length > 0xffff)
    throw new FormatError(
      'trainable_params.bin',
      `the archive would be ${total} bytes; PyTorch archives over 4 GiB need zip64, which this writer does not produce`,
    );
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (const l of layout) {
    let o = l.offset;
    dv.setUint32(o, 0x04034b50, true); // local file header
    dv.setUint16(o + 4, 0, true); // version needed (PyTorch writes 0)
    dv.setUint16(o + 6, 0, true); // flags
    dv.setUint16(o + 8, 0, true); // stored
    dv.setUint32(o + 10, 0, true); // time, date
    dv.setUint32(o + 14, l.crc, true);
    dv.setUint32(o + 18, l.data.length, true);
    dv.setUint32(o + 22, l.data.length, true);
    dv.setUint16(o + 26, l.name.length, true);
    dv.setUint16(o + 28, 4 + l.pad, true);
    out.set(l.name, o + LOCAL_HEADER);
    o += LOCAL_HEADER + l.name.length;
    out[o] = 0x46; // 'F'
    out[o + 1] = 0x42; // 'B'
    dv.setUint16(o + 2, l.pad, true);
    out.fill(0x5a, o + 4, o + 4 + l.pad); // 'Z'
    out.set(l.data, o + 4 + l.pad);
  }
  let o = centralStart;
  for (const l of layout) {
    dv.setUint32(o, 0x02014b50, true); // central directory header
    dv.setUint16(o + 4, 0, true); // made by
    dv.setUint16(o + 6, 0, true); // version needed
    dv.setUint16(o + 8, 0, true); // flags
    dv.setUint16(o + 10, 0, true); // stored
    dv.setUint32(o + 12, 0, true); // time, date
    dv.setUint32(o + 16, l.crc, true);
    dv.setUint32(o + 20, l.data.length, true);
    dv.setUint32(o + 24, l.data.length, true);
    dv.setUint16(o + 28, l.name.length, true);
    // extra, comment, disk, internal and external attributes: 0
    dv.setUint32(o + 42, l.offset, true);
    out.set(l.name, o + CENTRAL_HEADER);
    o += CENTRAL_HEADER + l.name.length;
  }
  dv.setUint32(o, 0x06054b50, true); // end of central directory
  dv.setUint16(o + 8, layout.length, true);
  dv.setUint16(o + 10, layout.length, true);
  dv.setUint32(o + 12, centralSize, true);
  dv.setUint32(o + 16, centralStart, true);
  return out;
}

/**
 * `torch.save(OrderedDict(tensors))` as PyTorch writes it: a zip under `archive/` with data.pkl,
 * byteorder, one data/<key> record per tensor (f32, little-endian) and version.
 */
export function writeTorchStateDict(tensors: TorchTensorToWrite[]): Uint8Array {
  const seen = new Set<string>();
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new FormatError(
        'trainable_params.bin',
        `${t.name}: shape [${t.shape.join(', ')}] holds ${n} values, not ${t.data.length}`,
      );
    if (seen.has(t.name)) throw new FormatError('trainable_params.bin', `${t.name} appears twice`);
    seen.add(t.name);
  }
  const enc = new TextEncoder();
  const entries: Entry[] = [
    { name: 'archive/data.pkl', data: pickleStateDict(tensors) },
    { name: 'archive/byteorder', data: enc.encode('little') },
  ];
  const keys = tensors.map((_, i) => String(i)).sort(); // PyTorch writes storages in sorted key order
  for (const k of keys) {
    const d = tensors[Number(k)]!.data;
    entries.push({
      name: `archive/data/${k}`,
      data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
    });
  }
  entries.push({ name: 'archive/version', data: enc.encode('3\n') });
  return zipAligned(entries);
}
