/**
 * Test support: a made-up architecture that stores the Llama block the way Phi-3 does — q/k/v in one
 * `qkv_proj` and gate/up in one `gate_up_proj`, stacked by rows — and renames every other tensor,
 * expressed by its description alone (src/io/arch.ts); and a weight source that turns a checkpoint
 * of the Llama layout into one of this layout.
 */
import { ARCHITECTURES, type Architecture, type BlockLayout } from '../io/arch.ts';
import {
  expectedTensors,
  globalName,
  layerTensorName,
  linearSource,
  normName,
  type BlockConfig,
} from '../io/block.ts';
import type { RawTensor, WeightSource } from '../model/params.ts';

export const FUSED_LAYOUT: BlockLayout = {
  layerPrefix: { hf: 'transformer.h', gguf: 'layer' },
  embed: { hf: 'transformer.wte', gguf: 'tok_embd' },
  norm: { hf: 'transformer.ln_f', gguf: 'final_norm' },
  lmHead: { hf: 'head', gguf: 'out' },
  layer: [
    { hf: 'ln_1', gguf: 'attn_norm', norm: 'inputNorm' },
    { hf: 'attn.qkv_proj', gguf: 'attn_qkv', linears: ['q_proj', 'k_proj', 'v_proj'] },
    { hf: 'attn.out', gguf: 'attn_output', linears: ['o_proj'] },
    { hf: 'ln_2', gguf: 'ffn_norm', norm: 'postNorm' },
    { hf: 'mlp.gate_up_proj', gguf: 'ffn_gate_up', linears: ['gate_proj', 'up_proj'] },
    { hf: 'mlp.down', gguf: 'ffn_down', linears: ['down_proj'] },
    { hf: 'attn.q_ln', gguf: 'attn_q_norm', norm: 'qNorm' },
    { hf: 'attn.k_ln', gguf: 'attn_k_norm', norm: 'kNorm' },
  ],
};

/** Llama in every other respect (GGUF q/k rows permuted, no biases of its own, RMSNorm, SiLU). */
export const FUSED: Architecture = {
  ...ARCHITECTURES[0]!,
  hfArchitecture: 'FusedForCausalLM',
  layout: FUSED_LAYOUT,
};

const LLAMA = ARCHITECTURES[0]!;

/** Joins tensors of one dtype by rows. */
function stack(parts: RawTensor[]): RawTensor {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p.bytes, at);
    at += p.bytes.length;
  }
  const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
  return { dtype: parts[0]!.dtype, shape: [rows, ...parts[0]!.shape.slice(1)], bytes };
}

/** The tensors of `llama` (a Llama-layout source) under FUSED's names, q/k/v and gate/up stacked. */
export async function fusedWeightSource(
  c: BlockConfig,
  llama: WeightSource,
): Promise<WeightSource> {
  const map = new Map<string, RawTensor>();
  for (const which of ['embed', 'norm', 'lmHead'] as const) {
    const from = globalName(LLAMA, which);
    if (llama.has(from)) map.set(globalName(FUSED, which), await llama.read(from));
  }
  for (let i = 0; i < c.layers; i++) {
    for (const t of FUSED_LAYOUT.layer) {
      if (t.norm !== undefined) {
        const from = normName(LLAMA, i, t.norm);
        if (llama.has(from)) map.set(layerTensorName(FUSED, i, t.hf), await llama.read(from));
        continue;
      }
      for (const suffix of ['weight', 'bias'] as const) {
        const from = t.linears.map((n) => linearSource(LLAMA, c, i, n, suffix).name);
        if (!from.every((n) => llama.has(n))) continue;
        map.set(
          layerTensorName(FUSED, i, t.hf, suffix),
          stack(await Promise.all(from.map((n) => llama.read(n)))),
        );
      }
    }
  }
  const expected = expectedTensors(c, FUSED);
  for (const [name, shape] of expected) {
    const got = map.get(name);
    if (!got || got.shape.join() !== shape.join())
      throw new Error(
        `fused source: ${name} is [${got?.shape.join(', ')}], not [${shape.join(', ')}]`,
      );
  }
  return {
    has: (name) => map.has(name),
    read: async (name) => {
      const t = map.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return t;
    },
  };
}
