/**
 * What the Evaluate panel runs on a model's weights (a run's, or the base model's): held-out
 * perplexity, one passkey-retrieval trial and sampled generation. All use full causal attention.
 */
import type { Tokenizer } from '../io/tokenizer.ts';
import { DEFAULT_SAMPLING, generate } from '../model/generate.ts';
import type { Block } from '../train/data.ts';
import { evaluate } from '../train/evaluate.ts';
import { EVAL_WINDOWS } from '../train/types.ts';
import { buildPasskeyTrial, passkeyCorrect } from './passkey.ts';
import type { EvalResult, PasskeyResult } from './protocol.ts';
import type { Weights } from './run.ts';
import { DataError } from '../train/data.ts';

/** Perplexity over the first held-out windows of `context` tokens. */
export async function heldOutPerplexity(
  w: Weights,
  heldOut: readonly Block[],
  context: number,
  ropeFactor: number,
): Promise<EvalResult> {
  if (heldOut.length === 0)
    throw new DataError(`The held-out split has no full window of ${context} tokens.`);
  try {
    const r = await evaluate(w.model, heldOut, ropeFactor, EVAL_WINDOWS);
    return { perplexity: r.ppl, loss: r.loss, tokens: r.tokens, windows: r.windows, context };
  } finally {
    w.model.releaseActivations();
  }
}

/**
 * One passkey trial: greedy decode after a prompt of about `length` tokens; exact match. The prompt
 * is tokenized as Hugging Face's tokenizer(prompt) would (BOS first only when the tokenizer adds one).
 */
export async function passkeyTrial(
  w: Weights,
  tok: Tokenizer,
  length: number,
  seed: number,
  ropeFactorAt: (tokens: number) => number,
): Promise<PasskeyResult> {
  const trial = buildPasskeyTrial(length, seed, (t) => tok.encode(t).length);
  const ids = tok.encode(trial.prompt);
  const out = await generate(w.model, ids, {
    maxNewTokens: String(trial.key).length + 4,
    temperature: 0,
    topP: 1,
    seed,
    stopId: tok.eosId,
    ropeFactor: ropeFactorAt(ids.length),
  });
  const answer = tok.decode(out).trim();
  return {
    length: ids.length,
    passkey: trial.key,
    answer,
    correct: passkeyCorrect(answer, trial.key),
  };
}

/**
 * Samples a continuation of `prompt` (tokenized as Hugging Face's tokenizer(prompt) would), streaming
 * the text as it decodes. A model without a BOS needs a prompt to start from.
 */
export async function sample(
  w: Weights,
  tok: Tokenizer,
  prompt: string,
  maxTokens: number,
  seed: number,
  ropeFactorAt: (tokens: number) => number,
  onText: (t: string) => unknown,
): Promise<string> {
  const ids = tok.encode(prompt);
  if (ids.length === 0)
    throw new DataError('The model has no BOS token to start from: write a prompt to continue.');
  const out: number[] = [];
  let shown = '';
  await generate(w.model, ids, {
    ...DEFAULT_SAMPLING,
    maxNewTokens: maxTokens,
    seed,
    stopId: tok.eosId,
    ropeFactor: ropeFactorAt(ids.length + maxTokens),
    onToken: (id) => {
      out.push(id);
      const text = tok.decode(out);
      if (text.length > shown.length && text.startsWith(shown)) {
        void Promise.resolve(onText(text.slice(shown.length))).catch(() => undefined);
        shown = text;
      }
    },
  });
  return tok.decode(out);
}
