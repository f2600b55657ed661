/**
 * Text generation: the decoding loop around the model's KV-cache forward (LlamaModel.decode). The
 * prompt is prefilled in one step, then one token at a time; sampling (greedy, temperature, top-p)
 * happens on the CPU from the last position's logits.
 */
import { Rng } from '../util/rng.ts';
import { KvCache } from './kv-cache.ts';
import type { LlamaModel } from './llama.ts';
import { InternalError } from '../util/errors.ts';

/** Sampling when the caller sets none: the studio's Generate button and `longlora generate`. */
export const DEFAULT_SAMPLING = { temperature: 0.8, topP: 0.95 } as const;

export interface SampleOptions {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  /** Stop at this id (usually EOS). */
  stopId?: number;
  ropeFactor: number;
  onToken?: (id: number) => void;
}

/** Picks the next id from logits: argmax at temperature 0, else top-p sampling. */
export function sampleToken(
  logits: Float32Array,
  temperature: number,
  topP: number,
  rng: Rng,
): number {
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  const probs = Array.from(logits, (l, i) => ({ i, p: Math.exp((l - max) / temperature) }));
  const z = probs.reduce((s, x) => s + x.p, 0);
  probs.sort((a, b) => b.p - a.p);
  const kept: typeof probs = [];
  let mass = 0;
  for (const x of probs) {
    kept.push(x);
    mass += x.p / z;
    if (mass >= topP) break;
  }
  const keptZ = kept.reduce((s, x) => s + x.p, 0);
  let u = rng.next() * keptZ;
  for (const x of kept) {
    u -= x.p;
    if (u <= 0) return x.i;
  }
  return kept[kept.length - 1]!.i;
}

/** Generates continuations of a prompt with a model's current parameters (LoRA included). */
export async function generate(
  model: LlamaModel,
  prompt: number[],
  o: SampleOptions,
): Promise<number[]> {
  if (prompt.length === 0)
    throw new InternalError(
      'generate needs at least one prompt token (BOS, or text for a model without one)',
    );
  const cache = new KvCache(model, prompt.length + o.maxNewTokens);
  const rng = new Rng(o.seed);
  const out: number[] = [];
  try {
    let pending = prompt;
    for (let step = 0; step < o.maxNewTokens; step++) {
      const logits = await model.decode(pending, cache, o.ropeFactor);
      const id = sampleToken(logits, o.temperature, o.topP, rng);
      out.push(id);
      o.onToken?.(id);
      if (id === o.stopId) break;
      pending = [id];
    }
  } finally {
    cache.destroy();
  }
  return out;
}
