import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import {
  type RefConfig,
  type RefWeights,
  attentionAllowed,
  LORA_MODULES,
  randomRefModel,
  refForwardLogits,
  refLossAndGrads,
} from './llama.ts';
import { rope } from './llama-ops.ts';
import { Rng } from '../util/rng.ts';

const ASSETS = 'public/demo';

function tinyConfig(over: Partial<RefConfig> = {}): RefConfig {
  return {
    vocab: 11,
    hidden: 8,
    intermediate: 12,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 4,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 1,
    tied: false,
    pattern: 'full',
    group: 4,
    loraTargets: [...LORA_MODULES],
    rank: 2,
    alpha: 4,
    ...over,
  };
}

function randomTokens(n: number, V: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(V));
}

/** Every trainable tensor of the model, by a readable name, with its gradient's name. */
function trainables(cfg: RefConfig, w: RefWeights): [string, Float64Array][] {
  const out: [string, Float64Array][] = [
    ['embed', w.embed],
    ['norm', w.norm],
  ];
  if (!cfg.tied) out.push(['lmHead', w.lmHead!]);
  w.layers.forEach((l, i) => {
    out.push([`layers.${i}.inputNorm`, l.inputNorm], [`layers.${i}.postNorm`, l.postNorm]);
    for (const t of cfg.loraTargets) {
      out.push(
        [`layers.${i}.lora.${t}.A`, l.lora[t]!.A],
        [`layers.${i}.lora.${t}.B`, l.lora[t]!.B],
      );
    }
  });
  return out;
}

function gradOf(name: string, grads: ReturnType<typeof refLossAndGrads>['grads']): Float64Array {
  const parts = name.split('.');
  if (parts[0] === 'embed') return grads.embed;
  if (parts[0] === 'norm') return grads.norm;
  if (parts[0] === 'lmHead') return grads.lmHead!;
  const layer = grads.layers[Number(parts[1])]!;
  if (parts[2] === 'inputNorm') return layer.inputNorm;
  if (parts[2] === 'postNorm') return layer.postNorm;
  const pair = layer.lora[parts[3]!]!;
  return parts[4] === 'A' ? pair.A : pair.B;
}

/**
 * Central differences of the loss at `samples` random entries of every trainable tensor; returns
 * the worst |fd − grad| / (1e-7 + |grad|) and fails on any entry beyond 1e-8 + 1e-6·|grad|.
 */
function finiteDifferenceCheck(
  cfg: RefConfig,
  w: RefWeights,
  tokens: number[],
  labels: number[] | undefined,
  samples: number,
  seed: number,
): number {
  const { grads } = refLossAndGrads(cfg, w, tokens, labels);
  const rng = new Rng(seed);
  const step = 1e-5;
  let worst = 0;
  for (const [name, tensor] of trainables(cfg, w)) {
    const g = gradOf(name, grads);
    expect(g.length, name).toBe(tensor.length);
    let gradNorm = 0;
    for (const x of g) gradNorm += x * x;
    expect(Math.sqrt(gradNorm), `${name} gradient is all zero`).toBeGreaterThan(1e-4);
    for (let s = 0; s < samples; s++) {
      const e = rng.int(tensor.length);
      const keep = tensor[e]!;
      tensor[e] = keep + step;
      const plus = refLossAndGrads(cfg, w, tokens, labels).loss;
      tensor[e] = keep - step;
      const minus = refLossAndGrads(cfg, w, tokens, labels).loss;
      tensor[e] = keep;
      const fd = (plus - minus) / (2 * step);
      const err = Math.abs(fd - g[e]!);
      if (!(err <= 1e-8 + 1e-6 * Math.abs(g[e]!))) {
        throw new Error(`${name}[${e}]: grad ${g[e]}, finite difference ${fd}, |Δ| ${err}`);
      }
      worst = Math.max(worst, err / (1e-7 + Math.abs(g[e]!)));
    }
  }
  return worst;
}

describe('attention patterns (docs/longlora.md index arithmetic)', () => {
  const allowedSet = (pattern: 'full' | 's2' | 's2roll', h: number, i: number): number[] => {
    const out: number[] = [];
    for (let j = 0; j < 8; j++) if (attentionAllowed(pattern, 8, 4, 4, h, i, j)) out.push(j);
    return out;
  };

  it('full is causal for every head', () => {
    for (let h = 0; h < 4; h++) {
      for (let i = 0; i < 8; i++)
        expect(allowedSet('full', h, i)).toEqual([...Array(i + 1).keys()]);
    }
  });

  it('s2: first half of heads in groups [0,4),[4,8); second half in [0,2),[2,6),[6,8)', () => {
    const plain = [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [4], [4, 5], [4, 5, 6], [4, 5, 6, 7]];
    const shifted = [[0], [0, 1], [2], [2, 3], [2, 3, 4], [2, 3, 4, 5], [6], [6, 7]];
    for (let i = 0; i < 8; i++) {
      expect(allowedSet('s2', 0, i)).toEqual(plain[i]);
      expect(allowedSet('s2', 1, i)).toEqual(plain[i]);
      expect(allowedSet('s2', 2, i)).toEqual(shifted[i]);
      expect(allowedSet('s2', 3, i)).toEqual(shifted[i]);
    }
  });

  it('s2roll: shifted heads roll by −G/2 with wrap-around, so tokens 0,1 see the tail', () => {
    // Rolled order: group A = tokens 2,3,4,5; group B = tokens 6,7,0,1 (in that causal order).
    const shifted = [[0, 6, 7], [0, 1, 6, 7], [2], [2, 3], [2, 3, 4], [2, 3, 4, 5], [6], [6, 7]];
    for (let i = 0; i < 8; i++) {
      expect(allowedSet('s2roll', 1, i)).toEqual(allowedSet('s2', 1, i));
      expect(allowedSet('s2roll', 2, i)).toEqual(shifted[i]);
    }
  });
});

describe('rotary embedding (rotate-half, positions t/factor)', () => {
  it('is the identity at t = 0, and q·k depends only on the position difference', () => {
    const hd = 8;
    const rng = new Rng(5);
    const qv = Array.from({ length: hd }, () => rng.normal());
    const kv = Array.from({ length: hd }, () => rng.normal());
    const N = 12;
    const at = (vec: number[]) => Float64Array.from({ length: N * hd }, (_, e) => vec[e % hd]!);
    for (const factor of [1, 2.5]) {
      const q = rope(at(qv), N, 1, hd, 10000, factor);
      const k = rope(at(kv), N, 1, hd, 10000, factor);
      expect(Array.from(q.subarray(0, hd))).toEqual(qv);
      const dot = (i: number, j: number) => {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[i * hd + d]! * k[j * hd + d]!;
        return s;
      };
      expect(Math.abs(dot(7, 3) - dot(9, 5))).toBeLessThan(1e-12);
      expect(Math.abs(dot(7, 3) - dot(6, 3))).toBeGreaterThan(1e-3);
      const back = rope(q, N, 1, hd, 10000, factor, true);
      for (let e = 0; e < back.length; e++)
        expect(Math.abs(back[e]! - qv[e % hd]!)).toBeLessThan(1e-12);
    }
  });

  it('pairs element i with i + hd/2 at angle (t/factor)·theta^(−2i/hd)', () => {
    const x = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0]); // t = 0 and t = 1, hd = 4
    const y = rope(x, 2, 1, 4, 100, 2);
    const a = 0.5; // position 1 / factor 2, frequency index 0
    expect(Array.from(y.subarray(4))).toEqual([Math.cos(a), 0, Math.sin(a), 0]);
    const z = rope(new Float64Array([0, 0, 0, 0, 0, 1, 0, 0]), 2, 1, 4, 100, 2);
    const b = 0.5 / 10; // theta^(−2/4) = 1/10
    expect(Array.from(z.subarray(4))).toEqual([0, Math.cos(b), 0, Math.sin(b)]);
  });
});

describe('gradients match central finite differences', () => {
  const patterns = ['full', 's2', 's2roll'] as const;
  for (const pattern of patterns) {
    for (const tied of [false, true]) {
      for (const gqa of [true, false]) {
        for (const ropeFactor of [1, 2]) {
          const name = `${pattern}, ${tied ? 'tied' : 'untied'}, ${gqa ? 'GQA H4/KV2 hd4' : 'MHA H4 hd2'}, rope ×${ropeFactor}`;
          it(name, () => {
            const cfg = tinyConfig({
              pattern,
              tied,
              ropeFactor,
              kvHeads: gqa ? 2 : 4,
              headDim: gqa ? 4 : 2,
            });
            const seed =
              patterns.indexOf(pattern) * 8 + (tied ? 4 : 0) + (gqa ? 2 : 0) + ropeFactor;
            const w = randomRefModel(cfg, 100 + seed);
            const tokens = randomTokens(8, cfg.vocab, 200 + seed);
            const worst = finiteDifferenceCheck(cfg, w, tokens, undefined, 3, 300 + seed);
            expect(worst).toBeLessThan(1e-6);
          });
        }
      }
    }
  }

  it('with Llama 3 RoPE scaling (kept, smoothed and slowed frequencies), alone and with ×2 on top', () => {
    // hd 8, theta 10000: wavelengths 2π·10^(0..3); over 64 original positions the first is kept,
    // the second smoothed and the last two slowed by 8.
    const llama3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };
    for (const ropeFactor of [1, 2]) {
      const cfg = tinyConfig({ pattern: 's2', headDim: 8, llama3, ropeFactor });
      const w = randomRefModel(cfg, 40 + ropeFactor);
      const tokens = randomTokens(8, cfg.vocab, 50 + ropeFactor);
      expect(finiteDifferenceCheck(cfg, w, tokens, undefined, 3, 60 + ropeFactor)).toBeLessThan(
        1e-6,
      );
      // The scaling changes the model: same weights without it give another loss.
      const plain = refLossAndGrads({ ...cfg, llama3: undefined }, w, tokens).loss;
      expect(Math.abs(refLossAndGrads(cfg, w, tokens).loss - plain)).toBeGreaterThan(1e-6);
    }
  });

  it('with ignored labels (−100), a subset of LoRA targets, and GQA H8/KV2', () => {
    const cfg = tinyConfig({
      pattern: 's2',
      heads: 8,
      kvHeads: 2,
      loraTargets: ['q_proj', 'v_proj', 'down_proj'],
      rank: 3,
      alpha: 16,
    });
    const w = randomRefModel(cfg, 7);
    const tokens = randomTokens(8, cfg.vocab, 8);
    const labels = tokens.map((t, i) => (i === 2 || i === 5 ? -100 : t));
    const r = refLossAndGrads(cfg, w, tokens, labels);
    expect(r.counted).toBe(5);
    expect(finiteDifferenceCheck(cfg, w, tokens, labels, 4, 9)).toBeLessThan(1e-6);
  });
});

describe('forward semantics', () => {
  it('loss is the mean over counted tokens of −log softmax(logits[t])[labels[t+1]]', () => {
    const cfg = tinyConfig();
    const w = randomRefModel(cfg, 1);
    const tokens = randomTokens(8, cfg.vocab, 2);
    const labels = tokens.map((t, i) => (i === 3 ? -100 : (t + 1) % cfg.vocab));
    const logits = refForwardLogits(cfg, w, tokens);
    let sum = 0;
    let n = 0;
    for (let t = 0; t < 7; t++) {
      if (labels[t + 1] === -100) continue;
      const row = Array.from(logits.subarray(t * 11, t * 11 + 11));
      sum += Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[labels[t + 1]!]!;
      n++;
    }
    const r = refLossAndGrads(cfg, w, tokens, labels);
    expect(r.counted).toBe(6);
    expect(Math.abs(r.loss - sum / n)).toBeLessThan(1e-12);
    const none = refLossAndGrads(
      cfg,
      w,
      tokens,
      tokens.map(() => -100),
    );
    expect(none.loss).toBe(0);
    expect(none.grads.embed.every((x) => x === 0)).toBe(true);
  });

  it('LoRA equals the merged weight W + (alpha/r)·B·A', () => {
    const cfg = tinyConfig({ alpha: 6, rank: 2 });
    const w = randomRefModel(cfg, 3);
    const merged: RefWeights = structuredClone(w);
    const keys = { q_proj: 'q', k_proj: 'k', v_proj: 'v', o_proj: 'o', gate_proj: 'gate' } as const;
    const more = { up_proj: 'up', down_proj: 'down' } as const;
    for (const l of merged.layers) {
      for (const [mod, key] of Object.entries({ ...keys, ...more })) {
        const { A, B } = l.lora[mod]!;
        const W = l[key];
        const outF = B.length / cfg.rank;
        const inF = A.length / cfg.rank;
        for (let o = 0; o < outF; o++) {
          for (let i = 0; i < inF; i++) {
            let s = 0;
            for (let r = 0; r < cfg.rank; r++) s += B[o * cfg.rank + r]! * A[r * inF + i]!;
            W[o * inF + i]! += (cfg.alpha / cfg.rank) * s;
          }
        }
      }
      l.lora = {};
    }
    const tokens = randomTokens(8, cfg.vocab, 4);
    const a = refForwardLogits(cfg, w, tokens);
    const b = refForwardLogits({ ...cfg, loraTargets: [] }, merged, tokens);
    for (let e = 0; e < a.length; e++) expect(Math.abs(a[e]! - b[e]!)).toBeLessThan(1e-12);
  });

  it('tied: the embedding gets the input and output gradients (= untied embed + lmHead grads)', () => {
    const cfg = tinyConfig({ pattern: 's2roll' });
    const w = randomRefModel({ ...cfg, tied: true }, 11);
    const untied: RefWeights = { ...w, lmHead: w.embed.slice() };
    const tokens = randomTokens(8, cfg.vocab, 12);
    const a = refLossAndGrads({ ...cfg, tied: true }, w, tokens);
    const b = refLossAndGrads({ ...cfg, tied: false }, untied, tokens);
    expect(a.loss).toBe(b.loss);
    expect(a.grads.lmHead).toBeUndefined();
    for (let e = 0; e < a.grads.embed.length; e++) {
      const sum = b.grads.embed[e]! + b.grads.lmHead![e]!;
      expect(Math.abs(a.grads.embed[e]! - sum)).toBeLessThan(1e-14);
    }
  });

  it('s2 keeps groups apart, full is causal, s2roll leaks the tail into the first tokens', () => {
    const cfg = tinyConfig({ layers: 1 });
    const w = randomRefModel(cfg, 21);
    const tokens = randomTokens(8, cfg.vocab, 22);
    const changed = (pattern: RefConfig['pattern'], at: number, row: number): boolean => {
      const c = { ...cfg, pattern };
      const a = refForwardLogits(c, w, tokens);
      const b = refForwardLogits(
        c,
        w,
        tokens.map((t, i) => (i === at ? (t + 1) % 11 : t)),
      );
      for (let v = 0; v < 11; v++) if (a[row * 11 + v] !== b[row * 11 + v]) return true;
      return false;
    };
    expect(changed('full', 7, 6)).toBe(false);
    expect(changed('full', 0, 7)).toBe(true);
    // One layer of s2: token 5 sees 4,5 (plain heads) and 2..5 (shifted heads).
    expect(changed('s2', 1, 5)).toBe(false);
    expect(changed('s2', 2, 5)).toBe(true);
    expect(changed('s2', 7, 0)).toBe(false);
    expect(changed('s2roll', 7, 0)).toBe(true);
    expect(changed('s2roll', 0, 5)).toBe(false);
  });
});

/** Loads the stories260K Hugging Face checkpoint (F32 safetensors) into reference weights. */
function loadStories(): { cfg: RefConfig; w: RefWeights } {
  const buf = readFileSync(`${ASSETS}/model.safetensors`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const get = (name: string): Float64Array => {
    const t = header[name];
    if (!t || t.dtype !== 'F32') throw new Error(`missing F32 tensor ${name}`);
    const [a, b] = t.data_offsets;
    const bytes = buf.subarray(8 + headerLen + a, 8 + headerLen + b);
    return Float64Array.from(
      new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
    );
  };
  const hf = JSON.parse(readFileSync(`${ASSETS}/config.json`, 'utf8')) as Record<
    string,
    number | boolean
  >;
  const H = hf.num_attention_heads as number;
  const cfg: RefConfig = {
    vocab: hf.vocab_size as number,
    hidden: hf.hidden_size as number,
    intermediate: hf.intermediate_size as number,
    layers: hf.num_hidden_layers as number,
    heads: H,
    kvHeads: hf.num_key_value_heads as number,
    headDim: (hf.hidden_size as number) / H,
    rmsEps: hf.rms_norm_eps as number,
    ropeTheta: hf.rope_theta as number,
    ropeFactor: 1,
    tied: hf.tie_word_embeddings as boolean,
    pattern: 'full',
    group: 32,
    loraTargets: [],
    rank: 8,
    alpha: 16,
  };
  const layers = Array.from({ length: cfg.layers }, (_, i) => {
    const p = `model.layers.${i}.`;
    return {
      inputNorm: get(`${p}input_layernorm.weight`),
      postNorm: get(`${p}post_attention_layernorm.weight`),
      q: get(`${p}self_attn.q_proj.weight`),
      k: get(`${p}self_attn.k_proj.weight`),
      v: get(`${p}self_attn.v_proj.weight`),
      o: get(`${p}self_attn.o_proj.weight`),
      gate: get(`${p}mlp.gate_proj.weight`),
      up: get(`${p}mlp.up_proj.weight`),
      down: get(`${p}mlp.down_proj.weight`),
      lora: {},
    };
  });
  const w: RefWeights = {
    embed: get('model.embed_tokens.weight'),
    norm: get('model.norm.weight'),
    layers,
  };
  return { cfg, w };
}

function loadTokenizer(): Tokenizer {
  const read = (f: string): object => JSON.parse(readFileSync(`${ASSETS}/${f}`, 'utf8')) as object;
  return new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
}

describe('stories260K real weights (F32 safetensors)', () => {
  const { cfg, w } = loadStories();

  it('greedy decoding from BOS tells the known story, and its loss is low', () => {
    const tokens = [1];
    for (let step = 0; step < 24; step++) {
      const logits = refForwardLogits(cfg, w, tokens);
      const row = logits.subarray((tokens.length - 1) * cfg.vocab, tokens.length * cfg.vocab);
      tokens.push(row.indexOf(Math.max(...row)));
    }
    const text = loadTokenizer().decode(tokens, { skip_special_tokens: true });
    expect(text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    const { loss } = refLossAndGrads(cfg, w, tokens);
    expect(loss).toBeLessThan(1.0);
  });

  it('matches an independent NumPy implementation (scripts/ref-llama-golden.py) on every pattern', () => {
    // Pseudo-random tokens both languages can generate without sharing an RNG.
    const tokens = Array.from({ length: 64 }, (_, i) => (31 * i * i + 17 * i + 3) % 512);
    const golden: [RefConfig['pattern'], number, number, [number, number]][] = [
      ['full', 1, 19.67654473791218, [0.029660614053739206, 0.4577994502596993]],
      ['s2', 2, 19.99334161722434, [0.0708626149759084, 0.45177322416378723]],
      ['s2roll', 2, 19.996981612815986, [0.07183121084608501, 0.43657721171541647]],
      ['full', 4, 19.834238699992795, [0.05995441618722452, 0.40834627306196575]],
    ];
    for (const [pattern, ropeFactor, loss, normGrad] of golden) {
      const r = refLossAndGrads({ ...cfg, pattern, ropeFactor, group: 16 }, w, tokens);
      expect(Math.abs(r.loss - loss), `${pattern} ×${ropeFactor} loss`).toBeLessThan(1e-11);
      for (let d = 0; d < 2; d++) {
        expect(Math.abs(r.grads.norm[d]! - normGrad[d]!), `${pattern} norm grad`).toBeLessThan(
          1e-8,
        );
      }
    }
    // A trained model is confidently wrong on random tokens: far worse than uniform (ln 512 ≈ 6.24).
    expect(refLossAndGrads(cfg, w, randomTokens(64, cfg.vocab, 1)).loss).toBeGreaterThan(
      Math.log(512) + 2,
    );
  });

  it('real text costs about 1.28 nats per token (first 128 tokens); ×4 interpolation without fine-tuning costs more', () => {
    const text = readFileSync(`${ASSETS}/tinystories-197k.txt`, 'utf8').slice(0, 2000);
    const ids = loadTokenizer().encode(text).ids.slice(0, 128);
    expect(ids.length).toBe(128);
    expect(ids[0]).toBe(1);
    const loss = refLossAndGrads(cfg, w, ids).loss;
    expect(loss).toBeGreaterThan(1.15);
    expect(loss).toBeLessThan(1.4);
    const stretched = refLossAndGrads({ ...cfg, ropeFactor: 4 }, w, ids).loss;
    expect(stretched).toBeGreaterThan(loss + 1.5);
  });
});
