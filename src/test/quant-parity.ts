/**
 * Test support for a quantized base (issue 26): the reference model's frozen matrices quantized by
 * llama.cpp's reference quantizers (io/quantize.ts), the reference then holding exactly the
 * dequantized values (io/quant.ts) so it computes with what the GPU's blocks mean. The WeightSource
 * gives the blocks themselves as a quantized GGUF's reader does (`stored` / `readBlocks`), or, with
 * `asFloat`, the f32 values before quantizing, for LlamaParams.load's quantize-on-load
 * (`baseQuant`) to quantize — the same blocks either way.
 */
import { dequantize, QUANT_FORMATS, type QuantType } from '../io/quant.ts';
import { quantize } from '../io/quantize.ts';
import type { RefWeights } from '../reference/llama.ts';
import type { RawTensor, WeightSource } from '../model/params.ts';
import { LINEAR_NAMES, linearShape, type LlamaShape } from '../model/types.ts';
import { linearWeightName } from '../io/block.ts';
import { refWeightSource } from './parity.ts';

const REF_KEY = {
  q_proj: 'q',
  k_proj: 'k',
  v_proj: 'v',
  o_proj: 'o',
  gate_proj: 'gate',
  up_proj: 'up',
  down_proj: 'down',
} as const;

/**
 * Quantizes the reference's frozen matrices to `type` in place (each replaced by its dequantized
 * values): every projection, the output layer when untied, and the embedding unless `trainEmbed`
 * (LoRA+ trains it in f32). Returns a WeightSource over the blocks (or, `asFloat`, over the f32
 * values before quantizing). Norms and the trained embedding are F32.
 */
export function quantWeightSource(
  shape: LlamaShape,
  w: RefWeights,
  type: QuantType,
  opts: { trainEmbed: boolean; asFloat?: boolean },
): WeightSource {
  const floats = refWeightSource(shape, w, 'F32');
  const blocks = new Map<string, { bytes: Uint8Array; shape: number[] }>();
  const raw = new Map<string, RawTensor>();
  const quant = (name: string, arr: Float64Array, dims: number[]) => {
    if (dims[1]! % QUANT_FORMATS[type].block !== 0)
      throw new Error(`${name}: rows of ${dims[1]} are not whole ${type} blocks`);
    const f32 = Float32Array.from(arr);
    const bytes = quantize(type, f32);
    raw.set(name, { dtype: 'F32', shape: dims, bytes: new Uint8Array(f32.buffer) });
    arr.set(dequantize(type, bytes).values);
    blocks.set(name, { bytes, shape: dims });
  };
  const V = shape.vocabSize;
  const D = shape.hidden;
  if (!opts.trainEmbed) quant('model.embed_tokens.weight', w.embed, [V, D]);
  if (!shape.tieWordEmbeddings && w.lmHead) quant('lm_head.weight', w.lmHead, [V, D]);
  w.layers.forEach((l, i) => {
    for (const n of LINEAR_NAMES)
      quant(linearWeightName(i, n), l[REF_KEY[n]], linearShape(shape, n));
  });
  const rowBytes = (name: string) => {
    const b = blocks.get(name)!;
    return b.bytes.length / b.shape[0]!;
  };
  return {
    has: floats.has,
    read: async (name) => raw.get(name) ?? floats.read(name),
    ...(opts.asFloat
      ? {}
      : {
          stored: (name: string) => {
            const b = blocks.get(name);
            return b && { type, shape: b.shape };
          },
          readBlocks: async (name: string, row0: number, rows: number) =>
            blocks.get(name)!.bytes.slice(row0 * rowBytes(name), (row0 + rows) * rowBytes(name)),
        }),
  };
}
