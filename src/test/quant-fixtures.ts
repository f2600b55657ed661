/**
 * The committed quantized fixtures (fixtures/quant/, written by scripts/make-quant-fixtures.py with
 * llama.cpp's gguf-py): raw blocks of every supported type with gguf-py's dequantized values, and the
 * demo model quantized to the legacy types, assembled here into a GGUF by the project's own writer.
 * Node only (reads the repository's files).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expectedTensors, parseHfConfig } from '../io/config.ts';
import { readGguf, type GgufFile, type GgufValue } from '../io/gguf.ts';
import { hfToGgufName } from '../io/gguf-llama.ts';
import { writeGguf, type GgufKv, type GgufTensorToWrite } from '../io/gguf-writer.ts';
import {
  dequantize,
  QUANT_FORMATS,
  QUANT_TYPE_IDS,
  quantTypeOf,
  type QuantType,
} from '../io/quant.ts';
import { bytesSource } from '../io/source.ts';
import { Rng } from '../util/rng.ts';
import { f32ToF16 } from '../util/half.ts';
import { assetPath } from './assets-node.ts';
import { llamaGgufMetadata, tinyConfigJson, TINY_MODELS } from './fixtures.ts';

/** Absolute path of a file under fixtures/quant/. */
export function quantFixturePath(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/quant/${name}`, import.meta.url));
}

const bytesOf = (name: string) => new Uint8Array(readFileSync(quantFixturePath(name)));

/** A type's fixture blocks and the f32 values gguf-py's dequantize gives for them. */
export function quantBlocksFixture(type: QuantType): { blocks: Uint8Array; values: Float32Array } {
  const f = bytesOf(`${type.toLowerCase()}.f32`);
  return {
    blocks: bytesOf(`${type.toLowerCase()}.blocks`),
    values: new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4),
  };
}

/** A GGUF's metadata as the writer's entries (value types as the file had them). */
export function ggufKvs(g: GgufFile): GgufKv[] {
  return Object.entries(g.metadata).map(([key, value]: [string, GgufValue]) => {
    const t = g.types[key]!;
    if (t.type === 'array')
      return {
        key,
        type: 'array',
        itemType: t.itemType as Exclude<typeof t.itemType, 'array' | undefined>,
        value: value as (number | string | boolean | bigint)[],
      };
    return { key, type: t.type, value } as GgufKv;
  });
}

export interface QuantManifest {
  source: string;
  tensors: { name: string; type: QuantType; offset: number; bytes: number }[];
}

/** The demo model's quantized tensors: name → type (fixtures/quant/stories260K-legacy.json). */
export function quantizedDemoManifest(): QuantManifest {
  return JSON.parse(new TextDecoder().decode(bytesOf('stories260K-legacy.json'))) as QuantManifest;
}

let demoCache: Uint8Array | null = null;

/**
 * stories260K as a GGUF with its projections, embeddings and output layer quantized by gguf-py to
 * Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 (ffn_down, whose rows of 172 are not whole blocks, and the norms
 * stay F32), written by src/io/gguf-writer.ts with the demo GGUF's metadata.
 */
export async function quantizedDemoGguf(): Promise<Uint8Array> {
  if (demoCache) return demoCache;
  const demo = new Uint8Array(readFileSync(assetPath('stories260K.gguf')));
  const g = await readGguf(bytesSource('stories260K.gguf', demo));
  const manifest = quantizedDemoManifest();
  const blocks = bytesOf('stories260K-legacy.blocks');
  const quant = new Map(manifest.tensors.map((t) => [t.name, t]));
  const tensors: GgufTensorToWrite[] = g.tensors.map((t) => {
    const q = quant.get(t.name);
    if (!q)
      return {
        name: t.name,
        dims: t.dims,
        type: t.type,
        data: demo.subarray(t.offset, t.offset + t.byteLength!),
      };
    return {
      name: t.name,
      dims: t.dims,
      type: QUANT_TYPE_IDS[q.type],
      data: blocks.subarray(q.offset, q.offset + q.bytes),
    };
  });
  const kvs = ggufKvs(g).filter((kv) => kv.key !== 'general.file_type');
  demoCache = writeGguf(kvs, tensors, g.alignment);
  return demoCache;
}

/**
 * The same model as quantizedDemoGguf with every quantized tensor replaced by its dequantized values
 * as F32 (what the loader uploads for the quantized file).
 */
export async function dequantizedDemoGguf(): Promise<Uint8Array> {
  const bytes = await quantizedDemoGguf();
  const g = await readGguf(bytesSource('q.gguf', bytes));
  const byName = new Map(quantizedDemoManifest().tensors.map((t) => [t.name, t]));
  const tensors: GgufTensorToWrite[] = g.tensors.map((t) => {
    const data = bytes.subarray(t.offset, t.offset + t.byteLength!);
    const q = byName.get(t.name);
    if (!q) return { name: t.name, dims: t.dims, type: t.type, data };
    const v = dequantize(q.type, data).values;
    return { name: t.name, dims: t.dims, type: 0, data: new Uint8Array(v.buffer) };
  });
  return writeGguf(ggufKvs(g), tensors, g.alignment);
}

/**
 * Any GGUF with every quantized tensor replaced by its dequantized values as F32 (io/quant.ts,
 * gguf-py's values bit for bit): the float twin of a quantized file, for comparing runs.
 */
export async function dequantizedGguf(bytes: Uint8Array): Promise<Uint8Array> {
  const g = await readGguf(bytesSource('q.gguf', bytes));
  const tensors: GgufTensorToWrite[] = g.tensors.map((t) => {
    const data = bytes.subarray(t.offset, t.offset + t.byteLength!);
    const type = quantTypeOf(t.type);
    if (!type) return { name: t.name, dims: t.dims, type: t.type, data };
    const v = dequantize(type, data).values;
    return { name: t.name, dims: t.dims, type: 0, data: new Uint8Array(v.buffer) };
  });
  return writeGguf(ggufKvs(g), tensors, g.alignment);
}

/** Which K-quant type each weight of kQuantModelGguf's model is stored in. */
const K_TYPES: Record<string, QuantType> = {
  token_embd: 'Q5_K',
  output: 'Q6_K',
  attn_q: 'Q4_K',
  attn_k: 'Q4_K',
  attn_v: 'Q6_K',
  attn_output: 'Q4_K',
  ffn_gate: 'Q5_K',
  ffn_up: 'Q4_K',
  ffn_down: 'Q6_K',
};

/**
 * A one-layer llama whose widths are multiples of 256 (hidden 256, MLP 512, 4 heads of 64, 2 kv
 * heads, the tiny vocabulary) with every matrix in Q4_K, Q5_K or Q6_K blocks: seeded random bytes
 * with small f16 scales (d, dmin 2^-12; Q6_K's d 2^-14), so weights stay within about ±0.25; and the
 * same model as F32 GGUF of the dequantized values. gguf-py has no K-quant quantizer, so these blocks
 * are not gguf-py's; their decoding is (quant.test.ts).
 */
export function kQuantModelGguf(): { quant: Uint8Array; dequantized: Uint8Array } {
  const json = {
    ...tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!),
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  };
  const config = parseHfConfig(json);
  const rng = new Rng(2612);
  const quant: GgufTensorToWrite[] = [];
  const plain: GgufTensorToWrite[] = [];
  for (const [hf, shape] of expectedTensors(config)) {
    const name = hfToGgufName(hf)!;
    const dims = [...shape].reverse();
    const n = shape.reduce((a, b) => a * b, 1);
    const type = K_TYPES[name.split('.').at(-2)!];
    if (!type) {
      const v = rng.floats(n, 0.5, 1.5);
      const data = new Uint8Array(v.buffer);
      quant.push({ name, dims, type: 0, data });
      plain.push({ name, dims, type: 0, data });
      continue;
    }
    const f = QUANT_FORMATS[type];
    const data = new Uint8Array((n / f.block) * f.bytes);
    for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
    const put = (at: number, x: number) => {
      const h = f32ToF16(x);
      data[at] = h & 0xff;
      data[at + 1] = h >> 8;
    };
    for (let b = 0; b < data.length; b += f.bytes) {
      if (type === 'Q6_K') put(b + 208, 2 ** -14);
      else {
        put(b, 2 ** -12);
        put(b + 2, 2 ** -12);
      }
    }
    quant.push({ name, dims, type: QUANT_TYPE_IDS[type], data });
    const v = dequantize(type, data).values;
    plain.push({ name, dims, type: 0, data: new Uint8Array(v.buffer) });
  }
  const kvs = llamaGgufMetadata(config, 'k-quant');
  return { quant: writeGguf(kvs, quant), dequantized: writeGguf(kvs, plain) };
}
