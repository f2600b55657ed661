/**
 * The committed quantized fixtures (fixtures/quant/, written by scripts/make-quant-fixtures.py with
 * llama.cpp's gguf-py): raw blocks of every supported type with gguf-py's dequantized values, and the
 * demo model quantized to the legacy types, assembled here into a GGUF by the project's own writer.
 * Node only (reads the repository's files).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readGguf, type GgufFile, type GgufValue } from '../io/gguf.ts';
import { writeGguf, type GgufKv, type GgufTensorToWrite } from '../io/gguf-writer.ts';
import { dequantize, QUANT_TYPE_IDS, type QuantType } from '../io/quant.ts';
import { bytesSource } from '../io/source.ts';
import { assetPath } from './assets-node.ts';

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
