/**
 * A seeded mutation fuzzer for every file the studio reads: the demo model (safetensors, GGUF,
 * config.json, tokenizer.json), a sharded folder's model.safetensors.index.json, and training data
 * (plain text, Alpaca JSON, JSONL). Each mutant is a pure function of (seed, index), so a failing one
 * is rebuilt from the two numbers the test prints. Byte-level mutations (bit flips, truncation,
 * insertion, deletion, invalid UTF-8) apply to every format; structural ones rewrite headers (huge or
 * negative lengths and counts, overlapping and duplicated tensors, wrong dtypes and shapes) and JSON
 * (hostile values, deep nesting, enormous strings and arrays).
 */
import { Rng } from '../util/rng.ts';

/** The formats a mutant targets (which file of which set is mutated). */
export const FUZZ_FORMATS = [
  'safetensors',
  'gguf',
  'gguf-quant',
  'config',
  'tokenizer',
  'index',
  'text',
  'alpaca-json',
  'jsonl',
  'token-ids',
] as const;
export type FuzzFormat = (typeof FUZZ_FORMATS)[number];

/** How many of every 32 mutants target each format (sums to 32). */
const SHARE: Record<FuzzFormat, number> = {
  safetensors: 5,
  gguf: 5,
  'gguf-quant': 4,
  config: 4,
  tokenizer: 4,
  index: 2,
  text: 3,
  'alpaca-json': 2,
  jsonl: 2,
  'token-ids': 2,
};

/** The formats that go through the training-data input. */
export const DATA_FORMATS: readonly FuzzFormat[] = ['text', 'alpaca-json', 'jsonl', 'token-ids'];

/** The unmutated inputs (the demo's real files). */
export interface FuzzBase {
  /** public/demo/model.safetensors, config.json, tokenizer.json, tokenizer_config.json. */
  safetensors: Uint8Array;
  config: Uint8Array;
  tokenizer: Uint8Array;
  tokenizerConfig: Uint8Array;
  /** public/demo/stories260K.gguf. */
  gguf: Uint8Array;
  /**
   * stories260K quantized to Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 blocks (src/test/quant-fixtures.ts
   * quantizedDemoGguf, from fixtures/quant/).
   */
  ggufQuant: Uint8Array;
  /** A slice of public/demo/tinystories-197k.txt. */
  text: string;
}

/** Which studio input a mutant goes through: the model's files, or the training data. */
export type FuzzTarget = 'model' | 'data';

export interface Mutant {
  seed: number;
  index: number;
  format: FuzzFormat;
  target: FuzzTarget;
  /** What was done, e.g. `gguf: u64 "array length" at 1234 := 1e15`. */
  op: string;
  /** The files, by name (the model's folder, or the one data file). */
  files: Record<string, Uint8Array>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A per-mutant RNG: the same (seed, index) always gives the same stream. */
function mutantRng(seed: number, index: number): Rng {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return new Rng((h ^ (h >>> 16)) >>> 0);
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)]!;

/** The format of the mutant at `index` (a fixed interleaving, so any count covers every format). */
export function formatOf(index: number): FuzzFormat {
  let k = index % 32;
  for (const f of FUZZ_FORMATS) {
    if (k < SHARE[f]) return f;
    k -= SHARE[f];
  }
  return 'safetensors';
}

// ---------------------------------------------------------------------------------------------
// Byte-level mutations.

/** A position, biased towards the first `hot` bytes (where headers live) three times in four. */
function position(r: Rng, size: number, hot: number): number {
  if (size === 0) return 0;
  return r.next() < 0.75 ? r.int(Math.max(1, Math.min(size, hot))) : r.int(size);
}

const INVALID_UTF8 = [
  [0xff],
  [0xc3],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc0, 0xaf],
  [0xe2, 0x82],
];

function byteMutation(r: Rng, b: Uint8Array, hot: number): { bytes: Uint8Array; op: string } {
  const kind = pick(r, ['flip', 'flip', 'truncate', 'insert', 'delete', 'utf8', 'int', 'zero']);
  const at = position(r, b.length, hot);
  switch (kind) {
    case 'flip': {
      const out = b.slice();
      const n = 1 + r.int(8);
      const where: number[] = [];
      for (let i = 0; i < n && out.length; i++) {
        const p = position(r, out.length, hot);
        out[p]! ^= 1 << r.int(8);
        where.push(p);
      }
      return { bytes: out, op: `flip ${n} bit(s) at ${where.join(',')}` };
    }
    case 'truncate':
      return { bytes: b.slice(0, at), op: `truncate to ${at} bytes` };
    case 'insert': {
      const n = 1 + r.int(16);
      const ins = new Uint8Array(n).map(() => r.int(256));
      return {
        bytes: concat(b.subarray(0, at), ins, b.subarray(at)),
        op: `insert ${n} bytes at ${at}`,
      };
    }
    case 'delete': {
      const n = 1 + r.int(16);
      return {
        bytes: concat(b.subarray(0, at), b.subarray(at + n)),
        op: `delete ${n} bytes at ${at}`,
      };
    }
    case 'utf8': {
      const bad = Uint8Array.from(pick(r, INVALID_UTF8));
      return {
        bytes: concat(b.subarray(0, at), bad, b.subarray(at)),
        op: `invalid UTF-8 [${[...bad].map((x) => x.toString(16)).join(' ')}] at ${at}`,
      };
    }
    case 'int': {
      const out = b.slice();
      const v = pick(r, HUGE_U64);
      if (at + 8 <= out.length) new DataView(out.buffer).setBigUint64(at, v, true);
      return { bytes: out, op: `u64 at ${at} := ${v}` };
    }
    default: {
      const out = b.slice();
      const n = 1 + r.int(64);
      out.fill(r.next() < 0.5 ? 0 : 0xff, at, at + n);
      return { bytes: out, op: `fill ${n} bytes at ${at}` };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Lengths and counts a hostile header claims (10^15 elements, 2^63, all ones, "−1", …). */
const HUGE_U64: readonly bigint[] = [
  0n,
  1n,
  0xffffffffn,
  0x100000000n,
  10n ** 15n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n, // −1 as a signed 64-bit count
  2n ** 64n - 8n,
  1_048_576n,
];

// ---------------------------------------------------------------------------------------------
// JSON values a hostile file holds.

function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A hostile JSON value, as text. */
function hostileJson(r: Rng): { text: string; what: string } {
  const k = r.int(16);
  switch (k) {
    case 0:
      return { text: '-1', what: '-1' };
    case 1:
      return { text: '0', what: '0' };
    case 2:
      return { text: '1e15', what: '1e15' };
    case 3:
      return { text: '1e308', what: '1e308' };
    case 4:
      return { text: '9007199254740993', what: '2^53+1' };
    case 5:
      return { text: '1.5', what: '1.5' };
    case 6:
      return { text: '"64"', what: 'a string' };
    case 7:
      return { text: 'null', what: 'null' };
    case 8:
      return { text: 'true', what: 'true' };
    case 9:
      return { text: '{}', what: '{}' };
    case 10:
      return { text: '[]', what: '[]' };
    case 11: {
      const d = 1000 * (1 + r.int(100));
      return { text: deepArray(d), what: `arrays nested ${d} deep` };
    }
    case 12: {
      const d = 1000 * (1 + r.int(50));
      return { text: deepObject(d), what: `objects nested ${d} deep` };
    }
    case 13: {
      // Long enough to be hostile, short enough that tokenizing it stays well under a second.
      const n = 1 << (12 + r.int(4));
      const word = r.next() < 0.5 ? 'x' : 'Once upon a time ';
      return {
        text: JSON.stringify(word.repeat(n / word.length)),
        what: `a string of ~${n} chars`,
      };
    }
    case 14: {
      const n = 1 << (10 + r.int(6));
      return {
        text: `[${new Array<string>(n).fill('1e15').join(',')}]`,
        what: `an array of ${n} numbers`,
      };
    }
    default:
      return { text: '"\\ud800"', what: 'a lone surrogate' };
  }
}

type JsonPath = (string | number)[];

/** Every path in a JSON value (objects' keys and arrays' indices), at most `limit` of them, sampled. */
function paths(v: unknown, r: Rng, limit = 4000): JsonPath[] {
  const out: JsonPath[] = [];
  const walk = (x: unknown, p: JsonPath): void => {
    if (out.length >= limit) return;
    if (p.length) out.push(p);
    if (Array.isArray(x)) {
      // Long arrays (vocabularies, merges): a few random entries, not all.
      const idx = x.length > 16 ? Array.from({ length: 8 }, () => r.int(x.length)) : x.keys();
      for (const i of idx) walk(x[i], [...p, i]);
    } else if (x && typeof x === 'object') {
      const keys = Object.keys(x);
      const ks = keys.length > 32 ? Array.from({ length: 16 }, () => pick(r, keys)) : keys;
      for (const k of ks) walk((x as Record<string, unknown>)[k], [...p, k]);
    }
  };
  walk(v, []);
  return out;
}

const MARK_VALUE = '\u0000__fuzz__\u0000';
const MARK = JSON.stringify(MARK_VALUE);

/** Replaces the value at `path` with raw JSON text (which may be too deep for JSON.stringify). */
function replaceAt(root: unknown, path: JsonPath, raw: string): string {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]!] = MARK_VALUE;
  const text = JSON.stringify(copy);
  if (!text.includes(MARK)) throw new Error('fuzz: the marker was not written');
  return text.replace(MARK, () => raw);
}

function deleteAt(root: unknown, path: JsonPath): string {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (Array.isArray(o)) o.splice(last as number, 1);
  else delete o[last];
  return JSON.stringify(copy);
}

/** A structural mutation of a JSON document: a hostile value somewhere, a key deleted, or the whole. */
function jsonMutation(r: Rng, bytes: Uint8Array): { bytes: Uint8Array; op: string } {
  const root = JSON.parse(dec.decode(bytes)) as unknown;
  const k = r.int(10);
  if (k === 0) {
    const h = hostileJson(r);
    return { bytes: enc.encode(h.text), op: `whole document := ${h.what}` };
  }
  const ps = paths(root, r);
  const p = pick(r, ps);
  if (k === 1) return { bytes: enc.encode(deleteAt(root, p)), op: `delete ${JSON.stringify(p)}` };
  if (k === 2) {
    // A duplicated key: the same key again, with a hostile value, textually after the first.
    const text = dec.decode(bytes).trimEnd();
    const key = typeof p[0] === 'string' ? p[0] : 'x';
    if (text.endsWith('}') && !Array.isArray(root)) {
      const h = hostileJson(r);
      const dup = `${text.slice(0, -1)},${JSON.stringify(key)}:${h.text}}`;
      return { bytes: enc.encode(dup), op: `duplicate key ${JSON.stringify(key)} := ${h.what}` };
    }
  }
  const h = hostileJson(r);
  return { bytes: enc.encode(replaceAt(root, p, h.text)), op: `${JSON.stringify(p)} := ${h.what}` };
}

/** JSON files: half structural, half byte-level. */
function mutateJson(r: Rng, bytes: Uint8Array): { bytes: Uint8Array; op: string } {
  return r.next() < 0.55 ? jsonMutation(r, bytes) : byteMutation(r, bytes, bytes.length);
}

// ---------------------------------------------------------------------------------------------
// safetensors.

interface StHeader {
  len: number;
  json: Record<string, { dtype: unknown; shape: unknown; data_offsets: unknown }>;
}

function stHeader(b: Uint8Array): StHeader {
  const len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { len, json: JSON.parse(dec.decode(b.subarray(8, 8 + len))) as StHeader['json'] };
}

/** A safetensors file with a new header text and the original data section. */
function stWith(b: Uint8Array, h: StHeader, headerText: string, claimed?: bigint): Uint8Array {
  const t = enc.encode(headerText);
  const out = new Uint8Array(8 + t.length + (b.length - 8 - h.len));
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(t.length), true);
  out.set(t, 8);
  out.set(b.subarray(8 + h.len), 8 + t.length);
  return out;
}

const SHAPES = [
  [1e15],
  [1e8, 1e8],
  [2 ** 53],
  [2 ** 53 + 2],
  [-1, 64],
  [1.5],
  ['64'],
  [],
  [0],
  [64, 64, 64, 64, 64, 64, 64, 64, 64, 64],
  null,
  'x',
];
const OFFSETS = [
  [0, 2 ** 60],
  [-8, 0],
  [0, -1],
  [2 ** 53, 2 ** 53 + 4],
  [1.5, 9],
  ['0', '4'],
  [0],
  null,
  {},
];
const DTYPES = [
  'I64',
  'F64',
  'F8_E4M3',
  'BOOL',
  'U8',
  'Q4',
  'f32',
  '',
  7,
  null,
  'F16',
  'BF16',
  'F32',
];

function mutateSafetensors(r: Rng, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const h = stHeader(b);
  const names = Object.keys(h.json).filter((n) => n !== '__metadata__');
  const name = pick(r, names);
  const other = pick(r, names);
  const json = structuredClone(h.json);
  const k = r.int(14);
  const re = (op: string, text = JSON.stringify(json), claimed?: bigint) => ({
    bytes: stWith(b, h, text, claimed),
    op: `safetensors: ${op}`,
  });
  switch (k) {
    case 0: {
      const v = pick(r, HUGE_U64);
      const out = b.slice();
      new DataView(out.buffer).setBigUint64(0, v, true);
      return { bytes: out, op: `safetensors: header length := ${v}` };
    }
    case 1: {
      const shape = pick(r, SHAPES);
      json[name]!.shape = shape;
      return re(`"${name}".shape := ${JSON.stringify(shape)}`);
    }
    case 2: {
      const offs = pick(r, OFFSETS);
      json[name]!.data_offsets = offs;
      return re(`"${name}".data_offsets := ${JSON.stringify(offs)}`);
    }
    case 3: {
      json[name]!.data_offsets = json[other]!.data_offsets;
      return re(`"${name}" overlaps "${other}" (same data_offsets)`);
    }
    case 4: {
      const [b0, e0] = json[name]!.data_offsets as [number, number];
      const s = 4 * (1 + r.int(8));
      json[name]!.data_offsets = [b0 + s, e0 + s];
      return re(`"${name}" shifted by ${s} bytes`);
    }
    case 5: {
      const dt = pick(r, DTYPES);
      json[name]!.dtype = dt;
      return re(`"${name}".dtype := ${JSON.stringify(dt)}`);
    }
    case 6: {
      // The same tensor twice in the header text (JSON.parse keeps the last).
      const text = JSON.stringify(json);
      const dup = `{${JSON.stringify(name)}:${JSON.stringify(json[other])},${text.slice(1)}`;
      return re(`"${name}" listed twice (first with "${other}"'s entry)`, dup);
    }
    case 7: {
      delete json[name];
      return re(`"${name}" removed`);
    }
    case 8: {
      const e = json[name]!;
      delete json[name];
      json[`${name}.extra`] = e;
      return re(`"${name}" renamed`);
    }
    case 9: {
      const hj = hostileJson(r);
      const text = JSON.stringify(json).replace(/^\{/, `{"__metadata__":{"x":${hj.text}},`);
      return re(`__metadata__ := ${hj.what}`, text);
    }
    case 10: {
      const hj = hostileJson(r);
      const field = pick(r, ['shape', 'data_offsets', 'dtype']);
      const text = replaceAt(json, [name, field], hj.text);
      return re(`"${name}".${field} := ${hj.what}`, text);
    }
    case 11: {
      const hj = hostileJson(r);
      return re(`header := ${hj.what}`, hj.text);
    }
    case 12: {
      const text = JSON.stringify(json);
      const claimed = BigInt(text.length + pick(r, [-1, 1, 8, -8]));
      return re(`header length off by ${claimed - BigInt(text.length)}`, text, claimed);
    }
    default:
      return byteMutation(r, b, 8 + h.len);
  }
}

// ---------------------------------------------------------------------------------------------
// GGUF: a walker that records where each length, count and type lies, so any of them can be set.

interface GgufField {
  at: number;
  size: 4 | 8;
  role: string;
}

interface GgufLayout {
  fields: GgufField[];
  /** Tensor infos: where the name's bytes, the dims, the ggml type and the offset lie. */
  tensors: {
    name: string;
    nameAt: number;
    dimsAt: number;
    dims: number[];
    typeAt: number;
    type: number;
    offsetAt: number;
    offset: number;
  }[];
  kvCountAt: number;
  kvEnd: number;
  /** Where tensor data starts (the end of the tensor infos, aligned to 32). */
  dataStart: number;
}

function ggufLayout(b: Uint8Array): GgufLayout {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 8;
  const fields: GgufField[] = [];
  const u64 = (role: string): number => {
    fields.push({ at: p, size: 8, role });
    const x = Number(v.getBigUint64(p, true));
    p += 8;
    return x;
  };
  const u32 = (role: string): number => {
    fields.push({ at: p, size: 4, role });
    const x = v.getUint32(p, true);
    p += 4;
    return x;
  };
  const str = (role: string): string => {
    const n = u64(`${role} length`);
    const s = dec.decode(b.subarray(p, p + n));
    p += n;
    return s;
  };
  const SIZES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
  const value = (type: number, key: string, top: boolean): void => {
    if (type === 8) str(`"${key}" string`);
    else if (type === 9) {
      const it = u32(`"${key}" array item type`);
      const n = u64(`"${key}" array length`);
      if (SIZES[it]) p += n * SIZES[it]!;
      else for (let i = 0; i < n; i++) value(it, key, false);
    } else {
      // Scalar metadata (head counts, lengths, token ids) can be set like any count.
      if (top && (SIZES[type] === 4 || SIZES[type] === 8))
        fields.push({ at: p, size: SIZES[type] as 4 | 8, role: `"${key}" value` });
      p += SIZES[type]!;
    }
  };
  const nT = u64('tensor count');
  const kvCountAt = p;
  const nKv = u64('metadata count');
  for (let i = 0; i < nKv; i++) {
    const key = str('key');
    const type = u32(`"${key}" value type`);
    value(type, key, true);
  }
  const kvEnd = p;
  const tensors: GgufLayout['tensors'] = [];
  for (let i = 0; i < nT; i++) {
    const nameAt = p + 8;
    const name = str('tensor name');
    const nd = u32(`"${name}" dimension count`);
    const dimsAt = p;
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(u64(`"${name}" dimension ${d}`));
    const typeAt = p;
    const type = u32(`"${name}" ggml type`);
    const offsetAt = p;
    const offset = u64(`"${name}" offset`);
    tensors.push({ name, nameAt, dimsAt, dims, typeAt, type, offsetAt, offset });
  }
  return { fields, tensors, kvCountAt, kvEnd, dataStart: Math.ceil(p / 32) * 32 };
}

/** A GGUF metadata entry as bytes (key, type, value) for a deeply nested array. */
function ggufNestedArrayKv(depth: number, pad: number): Uint8Array {
  const key = enc.encode(`fuzz.nested${'_'.repeat(pad)}`);
  const out = new Uint8Array(8 + key.length + 4 + depth * 12 + 4 + 8);
  const v = new DataView(out.buffer);
  let p = 0;
  v.setBigUint64(p, BigInt(key.length), true);
  out.set(key, 8);
  p = 8 + key.length;
  v.setUint32(p, 9, true); // array
  p += 4;
  for (let i = 0; i < depth; i++) {
    v.setUint32(p, 9, true); // of arrays
    v.setBigUint64(p + 4, 1n, true); // one item
    p += 12;
  }
  v.setUint32(p, 4, true); // the innermost: an empty array of u32
  v.setBigUint64(p + 4, 0n, true);
  return out;
}

function mutateGguf(r: Rng, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const L = ggufLayout(b);
  const k = r.int(10);
  const setU64 = (at: number, x: bigint) => {
    const out = b.slice();
    new DataView(out.buffer).setBigUint64(at, x, true);
    return out;
  };
  if (k <= 3) {
    // Any length, count, type or offset := a hostile value.
    const f = pick(r, L.fields);
    const out = b.slice();
    const dv = new DataView(out.buffer);
    if (f.size === 8) {
      const x = r.next() < 0.7 ? pick(r, HUGE_U64) : BigInt(r.int(1 << 20));
      dv.setBigUint64(f.at, x, true);
      return { bytes: out, op: `gguf: u64 ${f.role} at ${f.at} := ${x}` };
    }
    const x = pick(r, [
      0,
      1,
      2,
      3,
      7,
      8,
      9,
      12,
      13,
      30,
      31,
      99,
      513,
      0x80000000,
      0xffffffff,
      r.int(40),
    ]);
    dv.setUint32(f.at, x, true);
    return { bytes: out, op: `gguf: u32 ${f.role} at ${f.at} := ${x}` };
  }
  if (k === 4) {
    // Overlapping tensors: one tensor's data offset := another's.
    const a = pick(r, L.tensors);
    const o = pick(r, L.tensors);
    const off = new DataView(b.buffer, b.byteOffset).getBigUint64(o.offsetAt, true);
    return { bytes: setU64(a.offsetAt, off), op: `gguf: "${a.name}" offset := "${o.name}"'s` };
  }
  if (k === 5) {
    // A duplicated tensor: a name overwritten by another of the same length.
    const a = pick(r, L.tensors);
    const same = L.tensors.filter((t) => t !== a && t.name.length === a.name.length);
    if (same.length) {
      const o = pick(r, same);
      const out = b.slice();
      out.set(enc.encode(o.name), a.nameAt);
      return { bytes: out, op: `gguf: "${a.name}" renamed to "${o.name}" (listed twice)` };
    }
  }
  if (k === 6) {
    // Misaligned or far-away tensor data.
    const a = pick(r, L.tensors);
    const cur = new DataView(b.buffer, b.byteOffset).getBigUint64(a.offsetAt, true);
    const x = cur + pick(r, [1n, 4n, 32n, 1024n, 2n ** 40n]);
    return { bytes: setU64(a.offsetAt, x), op: `gguf: "${a.name}" offset := ${x}` };
  }
  if (k === 7) {
    // A deeply nested metadata array (12 bytes a level), padded so the data stays aligned.
    const depth = 1000 * (1 + r.int(100));
    let kv = ggufNestedArrayKv(depth, 0);
    kv = ggufNestedArrayKv(depth, (32 - (kv.length % 32)) % 32);
    const out = concat(b.subarray(0, L.kvCountAt + 8), kv, b.subarray(L.kvCountAt + 8));
    const dv = new DataView(out.buffer);
    dv.setBigUint64(L.kvCountAt, dv.getBigUint64(L.kvCountAt, true) + 1n, true);
    return { bytes: out, op: `gguf: a metadata array nested ${depth} deep` };
  }
  return byteMutation(r, b, L.kvEnd + (b.length - L.kvEnd > 4096 ? 4096 : 0));
}

/** Legacy quantized types by ggml id: bytes per 32-value block and where its f16 scales lie. */
const QUANT_BLOCKS: Record<number, { bytes: number; scales: number[] }> = {
  2: { bytes: 18, scales: [0] }, // Q4_0
  3: { bytes: 20, scales: [0, 2] }, // Q4_1
  6: { bytes: 22, scales: [0] }, // Q5_0
  7: { bytes: 24, scales: [0, 2] }, // Q5_1
  8: { bytes: 34, scales: [0] }, // Q8_0
};

/**
 * The quantized GGUF's own mutants: a tensor's ggml type swapped (for another supported, unsupported
 * or unknown type), a row that is not whole blocks, the file cut inside a tensor's blocks, a block's
 * f16 scale made infinite or NaN; else any GGUF mutation.
 */
function mutateQuantGguf(r: Rng, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const L = ggufLayout(b);
  const quant = L.tensors.filter((t) => QUANT_BLOCKS[t.type]);
  const k = r.int(10);
  const out = b.slice();
  const dv = new DataView(out.buffer);
  if (k <= 1) {
    const t = pick(r, L.tensors);
    const x = pick(r, [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 20, 23, 30, 34, 35, 39, 99]);
    dv.setUint32(t.typeAt, x, true);
    return { bytes: out, op: `gguf-quant: "${t.name}" ggml type ${t.type} := ${x}` };
  }
  const t = pick(r, quant);
  const q = QUANT_BLOCKS[t.type]!;
  const blocks = t.dims.reduce((a, c) => a * c, 1) / 32;
  const data = L.dataStart + t.offset;
  if (k === 2) {
    const x = t.dims[0]! + pick(r, [-16, -1, 1, 8, 16]);
    dv.setBigUint64(t.dimsAt, BigInt(x), true);
    return { bytes: out, op: `gguf-quant: "${t.name}" rows of ${t.dims[0]} := ${x} values` };
  }
  if (k === 3) {
    const at = data + r.int(blocks * q.bytes);
    return { bytes: b.slice(0, at), op: `gguf-quant: cut at ${at}, inside "${t.name}"'s blocks` };
  }
  if (k <= 6) {
    const i = r.int(blocks);
    const s = pick(r, q.scales);
    const h = pick(r, [0x7c00, 0xfc00, 0x7e00, 0xffff, 0x7c01]);
    dv.setUint16(data + i * q.bytes + s, h, true);
    return {
      bytes: out,
      op: `gguf-quant: "${t.name}" block ${i} scale at +${s} := 0x${h.toString(16)}`,
    };
  }
  return mutateGguf(r, b);
}

// ---------------------------------------------------------------------------------------------
// Sharded folder: the demo's tensors in two shards with an index.

function shardSplit(st: Uint8Array): { a: Uint8Array; b: Uint8Array; index: Uint8Array } {
  const h = stHeader(st);
  const names = Object.keys(h.json).filter((n) => n !== '__metadata__');
  const half = Math.ceil(names.length / 2);
  const data = st.subarray(8 + h.len);
  const shard = (ns: string[]): Uint8Array => {
    const header: Record<string, unknown> = {};
    const parts: Uint8Array[] = [];
    let off = 0;
    for (const n of ns) {
      const e = h.json[n]!;
      const [b0, e0] = e.data_offsets as [number, number];
      header[n] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e0 - b0] };
      parts.push(data.subarray(b0, e0));
      off += e0 - b0;
    }
    const t = enc.encode(JSON.stringify(header));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(t.length), true);
    return concat(len, t, ...parts);
  };
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => {
    weightMap[n] =
      i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors';
  });
  const index = enc.encode(
    JSON.stringify({ metadata: { total_size: data.length }, weight_map: weightMap }, null, 2),
  );
  return { a: shard(names.slice(0, half)), b: shard(names.slice(half)), index };
}

function mutateIndex(r: Rng, index: Uint8Array): { bytes: Uint8Array; op: string } {
  const json = JSON.parse(dec.decode(index)) as { weight_map: Record<string, unknown> };
  const names = Object.keys(json.weight_map);
  const name = pick(r, names);
  const k = r.int(6);
  if (k === 0) {
    const to = pick(r, [
      'model-00002-of-00002.safetensors',
      'model-00001-of-00002.safetensors',
      'missing.safetensors',
      '../../etc/passwd',
      '',
      42,
      null,
    ]);
    json.weight_map[name] = to;
    return {
      bytes: enc.encode(JSON.stringify(json)),
      op: `index: "${name}" → ${JSON.stringify(to)}`,
    };
  }
  if (k === 1) {
    json.weight_map[`${name}.ghost`] = 'model-00001-of-00002.safetensors';
    return { bytes: enc.encode(JSON.stringify(json)), op: `index: a tensor no shard holds` };
  }
  return mutateJson(r, index);
}

// ---------------------------------------------------------------------------------------------
// Training data.

function alpacaRecords(text: string): { instruction: string; input?: string; output: string }[] {
  const sentences = text.split(/(?<=\.)\s+/).filter((s) => s.length > 0);
  const recs = [];
  for (let i = 0; i + 2 < sentences.length && recs.length < 6; i += 3) {
    recs.push({
      instruction: 'Continue the story.',
      ...(i % 2 ? { input: sentences[i]! } : {}),
      output: `${sentences[i + 1]} ${sentences[i + 2]}`,
    });
  }
  return recs;
}

function mutateText(r: Rng, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const k = r.int(8);
  if (k === 0) {
    const n = 1 << (12 + r.int(4));
    const line = new Uint8Array(n).fill(0x61 + r.int(26));
    return { bytes: concat(b, enc.encode('\n'), line), op: `a line of ${n} bytes appended` };
  }
  if (k === 1) {
    const sep = enc.encode(pick(r, ['\n<|endoftext|>\n', '\n</s>\n', '\n\n', '\r\n', '\u0000']));
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) parts.push(sep);
    return {
      bytes: concat(b.subarray(0, position(r, b.length, b.length)), ...parts),
      op: `200 separators`,
    };
  }
  return byteMutation(r, b, b.length);
}

// ---------------------------------------------------------------------------------------------

/** Files derived once from the base (the sharded folder, the data files). */
interface Derived {
  shards: { a: Uint8Array; b: Uint8Array; index: Uint8Array };
  text: Uint8Array;
  alpaca: Uint8Array;
  jsonl: Uint8Array;
  tokenIds: Uint8Array;
}

const derivedCache = new WeakMap<FuzzBase, Derived>();

function derived(base: FuzzBase): Derived {
  let d = derivedCache.get(base);
  if (!d) {
    const recs = alpacaRecords(base.text);
    d = {
      shards: shardSplit(base.safetensors),
      text: enc.encode(base.text),
      alpaca: enc.encode(JSON.stringify(recs, null, 2)),
      jsonl: enc.encode(
        recs.map((x) => JSON.stringify({ text: `${x.input ?? ''} ${x.output}` })).join('\n'),
      ),
      // 300 ids below the demo's vocabulary of 512, fixed (the same for every seed).
      tokenIds: enc.encode(
        JSON.stringify(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 512)),
      ),
    };
    derivedCache.set(base, d);
  }
  return d;
}

/** The unmutated file sets, by format (each must load). */
export function baseFiles(base: FuzzBase, format: FuzzFormat): Record<string, Uint8Array> {
  const d = derived(base);
  const tok = { 'tokenizer.json': base.tokenizer, 'tokenizer_config.json': base.tokenizerConfig };
  switch (format) {
    case 'safetensors':
    case 'config':
    case 'tokenizer':
      return { 'config.json': base.config, 'model.safetensors': base.safetensors, ...tok };
    case 'gguf':
      return { 'stories260K.gguf': base.gguf };
    case 'gguf-quant':
      return { 'stories260K-q.gguf': base.ggufQuant };
    case 'index':
      return {
        'config.json': base.config,
        'model.safetensors.index.json': d.shards.index,
        'model-00001-of-00002.safetensors': d.shards.a,
        'model-00002-of-00002.safetensors': d.shards.b,
        ...tok,
      };
    case 'text':
      return { 'story.txt': d.text };
    case 'alpaca-json':
      return { 'alpaca.json': d.alpaca };
    case 'jsonl':
      return { 'stories.jsonl': d.jsonl };
    case 'token-ids':
      return { 'ids.json': d.tokenIds };
  }
}

/** Builds mutant number `index` of `seed`. */
export function makeMutant(base: FuzzBase, seed: number, index: number): Mutant {
  const r = mutantRng(seed, index);
  const format = formatOf(index);
  const files = { ...baseFiles(base, format) };
  let m: { bytes: Uint8Array; op: string };
  let file: string;
  switch (format) {
    case 'safetensors':
      file = 'model.safetensors';
      m = mutateSafetensors(r, files[file]!);
      break;
    case 'gguf':
      file = 'stories260K.gguf';
      m = mutateGguf(r, files[file]!);
      break;
    case 'gguf-quant':
      file = 'stories260K-q.gguf';
      m = mutateQuantGguf(r, files[file]!);
      break;
    case 'config':
      file = 'config.json';
      m = mutateJson(r, files[file]!);
      break;
    case 'tokenizer':
      file = r.next() < 0.85 ? 'tokenizer.json' : 'tokenizer_config.json';
      m = mutateJson(r, files[file]!);
      break;
    case 'index':
      if (r.next() < 0.7) {
        file = 'model.safetensors.index.json';
        m = mutateIndex(r, files[file]!);
      } else {
        file = pick(r, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
        m = mutateSafetensors(r, files[file]!);
      }
      break;
    case 'text':
      file = 'story.txt';
      m = mutateText(r, files[file]!);
      break;
    case 'alpaca-json':
      file = 'alpaca.json';
      m = mutateJson(r, files[file]!);
      break;
    case 'jsonl':
      file = 'stories.jsonl';
      m = r.next() < 0.5 ? mutateText(r, files[file]!) : jsonlMutation(r, files[file]!);
      break;
    case 'token-ids':
      file = 'ids.json';
      m = mutateJson(r, files[file]!);
      break;
  }
  files[file] = m.bytes;
  const target: FuzzTarget = DATA_FORMATS.includes(format) ? 'data' : 'model';
  return { seed, index, format, target, op: `${file}: ${m.op}`, files };
}

/** One JSONL line replaced by a hostile value. */
function jsonlMutation(r: Rng, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const lines = dec.decode(b).split('\n');
  const i = r.int(lines.length);
  const m = jsonMutation(r, enc.encode(lines[i]!));
  lines[i] = dec.decode(m.bytes);
  return { bytes: enc.encode(lines.join('\n')), op: `line ${i + 1}: ${m.op}` };
}

/** The seed from the environment (FUZZ_SEED), or a fresh one. */
export function fuzzSeed(env: string | undefined): number {
  if (env !== undefined && env !== '') {
    const s = Number(env);
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff)
      throw new Error(`FUZZ_SEED must be an integer from 0 to 4294967295 (got "${env}")`);
    return s;
  }
  return (Math.random() * 0x100000000) >>> 0;
}
