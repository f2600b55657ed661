/**
 * The block description (arch.ts) and what block.ts derives from it: the Llama layout gives the
 * names and shapes the loaders always used, and a made-up architecture that fuses q/k/v and
 * gate/up (as Phi-3 does) and renames every tensor is expressed by its description alone — expected
 * tensors, where each linear's rows lie, GGUF names, the rotated rows, LoRA targets, export order.
 */
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, LLAMA_LAYOUT } from './arch.ts';
import { FUSED, FUSED_LAYOUT } from '../test/fused-arch.ts';
import {
  adaptedModule,
  expectedTensors,
  fewestTensors,
  ggufExportOrder,
  ggufRotaryRows,
  ggufRotaryRowsOfLinear,
  ggufToHfName,
  hfToGgufName,
  isLoraTarget,
  LINEAR_NAMES,
  linearOfModule,
  linearShape,
  linearSource,
  loraName,
  tensorKind,
  trainedTensorShapes,
  type BlockConfig,
} from './block.ts';
import { permuteRotaryRows, permuteQK } from './gguf-llama.ts';

const dims = { hidden: 16, intermediate: 24, heads: 4, kvHeads: 2, headDim: 4 };
const config = (over: Partial<BlockConfig> = {}): BlockConfig => ({
  ...dims,
  vocabSize: 32,
  layers: 2,
  biases: [],
  qkNorm: false,
  tieWordEmbeddings: false,
  ...over,
});

describe('the Llama layout', () => {
  it('names and shapes the tensors the loaders expect, in their order', () => {
    const llama = ARCHITECTURES[0]!;
    const t = expectedTensors(config(), llama);
    expect([...t.keys()].slice(0, 11)).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.layers.1.self_attn.q_proj.weight',
    ]);
    expect(t.get('model.layers.1.self_attn.k_proj.weight')).toEqual([8, 16]);
    expect(t.get('model.layers.1.mlp.down_proj.weight')).toEqual([16, 24]);
    expect([...t.keys()].slice(-2)).toEqual(['model.norm.weight', 'lm_head.weight']);
    expect(t.size).toBe(fewestTensors(llama, 2) + 1);
    expect(fewestTensors(llama, 3)).toBe(9 * 3 + 2);
    // Qwen2's biases after the layer's weights, Qwen3's q/k norms before the other norms.
    const q = [...expectedTensors(config({ biases: ['q_proj', 'v_proj'], qkNorm: true }), llama)];
    expect(q.slice(8, 14).map(([n, s]) => `${n} ${s.join('x')}`)).toEqual([
      'model.layers.0.self_attn.q_proj.bias 16',
      'model.layers.0.self_attn.v_proj.bias 8',
      'model.layers.0.self_attn.q_norm.weight 4',
      'model.layers.0.self_attn.k_norm.weight 4',
      'model.layers.0.input_layernorm.weight 16',
      'model.layers.0.post_attention_layernorm.weight 16',
    ]);
  });

  it('writes the GGUF in llama.cpp order, maps names both ways and marks llama q/k rows', () => {
    const [llama, , qwen2] = ARCHITECTURES;
    const c = config({ biases: ['k_proj'], qkNorm: true, tieWordEmbeddings: true, layers: 1 });
    expect(ggufExportOrder(c, llama).map((n) => hfToGgufName(n, llama))).toEqual([
      'token_embd.weight',
      'output_norm.weight',
      'blk.0.attn_norm.weight',
      'blk.0.attn_q.weight',
      'blk.0.attn_k.weight',
      'blk.0.attn_v.weight',
      'blk.0.attn_output.weight',
      'blk.0.ffn_norm.weight',
      'blk.0.ffn_gate.weight',
      'blk.0.ffn_up.weight',
      'blk.0.ffn_down.weight',
      'blk.0.attn_k.bias',
      'blk.0.attn_q_norm.weight',
      'blk.0.attn_k_norm.weight',
    ]);
    for (const n of ggufExportOrder(c, llama)) expect(ggufToHfName(hfToGgufName(n)!)).toBe(n);
    expect(ggufToHfName('output.weight')).toBe('lm_head.weight');
    expect(ggufToHfName('rope_freqs.weight')).toBeNull();
    expect(ggufToHfName('blk.0.attn_qkv.weight')).toBeNull();
    expect(ggufRotaryRows(llama!, dims, 'model.layers.3.self_attn.q_proj.weight')).toEqual([
      { row0: 0, rows: 16, heads: 4 },
    ]);
    expect(ggufRotaryRows(llama!, dims, 'model.layers.3.self_attn.k_proj.weight')).toEqual([
      { row0: 0, rows: 8, heads: 2 },
    ]);
    expect(ggufRotaryRows(llama!, dims, 'model.layers.3.self_attn.q_proj.bias')).toEqual([]);
    expect(ggufRotaryRows(llama!, dims, 'model.layers.3.self_attn.v_proj.weight')).toEqual([]);
    expect(ggufRotaryRows(qwen2!, dims, 'model.layers.3.self_attn.q_proj.weight')).toEqual([]);
  });

  it('names LoRA pairs, adapted modules and the trained tensors', () => {
    expect(LINEAR_NAMES.every((n) => isLoraTarget(n))).toBe(true);
    expect(loraName(5, 'up_proj', 'B')).toBe('model.layers.5.mlp.up_proj.lora_B.weight');
    expect(adaptedModule('model.layers.12.self_attn.v_proj')).toEqual({
      layer: 12,
      module: 'v_proj',
    });
    expect(adaptedModule('model.layers.12.self_attn.foo')).toEqual({ layer: 12, module: 'foo' });
    expect(adaptedModule('model.layers.12.other.v_proj')).toBeNull();
    expect(linearOfModule('down_proj')).toBe('down_proj');
    expect(linearOfModule('qkv_proj')).toBeUndefined();
    expect(tensorKind('model.embed_tokens.weight')).toBe('embed');
    expect(tensorKind('model.norm.weight')).toBe('norm');
    expect(tensorKind('model.layers.3.self_attn.k_norm.weight')).toBe('norm');
    expect(tensorKind('model.layers.3.self_attn.k_proj.bias')).toBe('bias');
    expect(tensorKind('model.layers.3.mlp.up_proj.weight')).toBe('linear');
    expect(tensorKind('model.layers.3.mlp.gate_up_proj.weight')).toBeUndefined();
    const trained = trainedTensorShapes(config({ qkNorm: true, layers: 1 }), {
      trainEmbed: true,
      trainNorm: true,
    });
    expect([...trained.keys()]).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_norm.weight',
      'model.layers.0.self_attn.k_norm.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.norm.weight',
    ]);
  });

  it('has every linear in one tensor and every norm in one', () => {
    for (const layout of [LLAMA_LAYOUT, FUSED_LAYOUT]) {
      const linears = layout.layer.flatMap((t) => t.linears ?? []);
      expect([...linears].sort()).toEqual([...LINEAR_NAMES].sort());
      const norms = layout.layer.flatMap((t) => (t.norm ? [t.norm] : []));
      expect(norms.sort()).toEqual(['inputNorm', 'kNorm', 'postNorm', 'qNorm']);
    }
  });
});

describe('a made-up architecture with fused and renamed tensors', () => {
  const c = config({ biases: ['q_proj', 'k_proj', 'v_proj'], qkNorm: true });
  const [q, kv, F] = [16, 8, 24];

  it('expects the fused tensors with their stacked shapes and its own names', () => {
    const t = expectedTensors(c, FUSED);
    expect([...t].filter(([n]) => n.startsWith('transformer.h.0.'))).toEqual([
      ['transformer.h.0.attn.qkv_proj.weight', [q + 2 * kv, 16]],
      ['transformer.h.0.attn.out.weight', [16, q]],
      ['transformer.h.0.mlp.gate_up_proj.weight', [2 * F, 16]],
      ['transformer.h.0.mlp.down.weight', [16, F]],
      ['transformer.h.0.attn.qkv_proj.bias', [q + 2 * kv]],
      ['transformer.h.0.attn.q_ln.weight', [4]],
      ['transformer.h.0.attn.k_ln.weight', [4]],
      ['transformer.h.0.ln_1.weight', [16]],
      ['transformer.h.0.ln_2.weight', [16]],
    ]);
    expect(t.get('transformer.wte.weight')).toEqual([32, 16]);
    expect(t.get('head.weight')).toEqual([32, 16]);
    expect(fewestTensors(FUSED, 2)).toBe(6 * 2 + 2);
    // Half the biases of a fused tensor is no bias tensor.
    expect(
      expectedTensors(config({ biases: ['q_proj'] }), FUSED).has(
        'transformer.h.0.attn.qkv_proj.bias',
      ),
    ).toBe(false);
  });

  it('finds each linear in its rows of the fused tensor', () => {
    expect(linearSource(FUSED, dims, 1, 'q_proj')).toEqual({
      name: 'transformer.h.1.attn.qkv_proj.weight',
      shape: [q + 2 * kv, 16],
      row0: 0,
      rows: q,
    });
    expect(linearSource(FUSED, dims, 1, 'k_proj')).toMatchObject({ row0: q, rows: kv });
    expect(linearSource(FUSED, dims, 1, 'v_proj', 'bias')).toEqual({
      name: 'transformer.h.1.attn.qkv_proj.bias',
      shape: [q + 2 * kv],
      row0: q + kv,
      rows: kv,
    });
    expect(linearSource(FUSED, dims, 0, 'up_proj')).toEqual({
      name: 'transformer.h.0.mlp.gate_up_proj.weight',
      shape: [2 * F, 16],
      row0: F,
      rows: F,
    });
    expect(linearSource(FUSED, dims, 0, 'o_proj')).toEqual({
      name: 'transformer.h.0.attn.out.weight',
      shape: [16, q],
      row0: 0,
      rows: 16,
    });
    // The parts tile the fused tensor's rows in order.
    let row = 0;
    for (const n of ['q_proj', 'k_proj', 'v_proj'] as const) {
      const s = linearSource(FUSED, dims, 0, n);
      expect(s.row0).toBe(row);
      expect(s.rows).toBe(linearShape(dims, n)[0]);
      row += s.rows;
    }
    expect(row).toBe(q + 2 * kv);
  });

  it('maps its GGUF names, orders its export and keeps fused parts out of LoRA', () => {
    expect(hfToGgufName('transformer.h.3.attn.qkv_proj.weight', FUSED)).toBe(
      'layer.3.attn_qkv.weight',
    );
    expect(ggufToHfName('layer.3.ffn_gate_up.weight', FUSED)).toBe(
      'transformer.h.3.mlp.gate_up_proj.weight',
    );
    expect(ggufToHfName('out.weight', FUSED)).toBe('head.weight');
    expect(ggufExportOrder(config({ layers: 1 }), FUSED)).toEqual([
      'transformer.wte.weight',
      'transformer.ln_f.weight',
      'head.weight',
      'transformer.h.0.ln_1.weight',
      'transformer.h.0.attn.qkv_proj.weight',
      'transformer.h.0.attn.out.weight',
      'transformer.h.0.ln_2.weight',
      'transformer.h.0.mlp.gate_up_proj.weight',
      'transformer.h.0.mlp.down.weight',
    ]);
    expect(LINEAR_NAMES.filter((n) => isLoraTarget(n, FUSED))).toEqual(['o_proj', 'down_proj']);
    expect(loraName(2, 'o_proj', 'A', FUSED)).toBe('transformer.h.2.attn.out.lora_A.weight');
    expect(() => loraName(2, 'k_proj', 'A', FUSED)).toThrow(/fused/);
  });

  it('permutes only the q and k rows of a fused tensor into GGUF rotary order, and back', () => {
    const rotary = ggufRotaryRows(FUSED, dims, 'transformer.h.0.attn.qkv_proj.weight');
    expect(rotary).toEqual([
      { row0: 0, rows: q, heads: 4 },
      { row0: q, rows: kv, heads: 2 },
    ]);
    expect(ggufRotaryRowsOfLinear(FUSED, dims, 'k_proj')).toEqual([
      { row0: 0, rows: kv, heads: 2 },
    ]);
    const cols = 3;
    const data = Float32Array.from({ length: (q + 2 * kv) * cols }, (_, i) => i);
    const out = permuteRotaryRows(data, rotary, cols);
    const part = (a: Float32Array, r0: number, n: number) => a.subarray(r0 * cols, (r0 + n) * cols);
    expect(part(out, 0, q)).toEqual(permuteQK(part(data, 0, q), 4, q, cols));
    expect(part(out, q, kv)).toEqual(permuteQK(part(data, q, kv), 2, kv, cols));
    expect(part(out, q + kv, kv)).toEqual(part(data, q + kv, kv));
    expect(permuteRotaryRows(out, rotary, cols, true)).toEqual(data);
  });
});
