/**
 * Perplexity with full causal attention (docs/longlora.md, Evaluation): one loop shared by the
 * trainer's periodic evaluation, the studio's Evaluate button and `longlora eval`.
 */
import type { LlamaModel } from '../model/llama.ts';
import { IGNORE_INDEX } from '../util/labels.ts';

/** One window: token ids and next-token labels (IGNORE_INDEX where not scored). */
export interface EvalWindow {
  ids: Uint32Array;
  labels: Int32Array;
}

export interface EvalResult {
  loss: number;
  ppl: number;
  windows: number;
  /** Tokens scored. */
  tokens: number;
}

/** Mean cross-entropy over the first `maxWindows` windows (at least one), full attention. */
export async function evaluate(
  model: LlamaModel,
  windows: readonly EvalWindow[],
  ropeFactor: number,
  maxWindows: number,
  onWindow?: (index: number, total: number, loss: number) => void,
): Promise<EvalResult> {
  let sum = 0;
  let count = 0;
  const use = windows.slice(0, Math.max(1, maxWindows));
  for (const [i, w] of use.entries()) {
    const r = await model.loss(w, { pattern: 'full', group: w.ids.length, ropeFactor });
    sum += r.loss * r.count;
    count += r.count;
    onWindow?.(i, use.length, r.loss);
  }
  const loss = sum / Math.max(count, 1);
  return { loss, ppl: Math.exp(loss), windows: use.length, tokens: count };
}

/**
 * Windows of N tokens every `stride` tokens with Hugging Face's sliding-window labels: positions the
 * previous window already scored are ignored.
 */
export function slidingWindows(
  tokens: readonly number[],
  N: number,
  stride: number,
  maxWindows: number,
): EvalWindow[] {
  const windows: EvalWindow[] = [];
  let prevEnd = 0;
  for (let start = 0; start + N <= tokens.length && windows.length < maxWindows; start += stride) {
    const ids = Uint32Array.from(tokens.slice(start, start + N));
    const labels = new Int32Array(N);
    for (let t = 0; t < N; t++) {
      const target = start + t + 1;
      labels[t] = t === N - 1 || target < prevEnd ? IGNORE_INDEX : tokens[target]!;
    }
    prevEnd = start + N;
    windows.push({ ids, labels });
  }
  return windows;
}
