/**
 * Passkey retrieval (LongLoRA's official template, docs/longlora.md): an instruction, filler, the key
 * sentence, more filler, and the question; lines joined with "\n". The key's position in the filler
 * and the key itself come from a seed.
 */
import { Rng } from '../util/rng.ts';

export const PASSKEY_INTRO =
  'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.';
export const PASSKEY_FILLER =
  'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.';
export const PASSKEY_QUESTION = 'What is the pass key? The pass key is';

/** The key sentence for `key`. */
export function passkeyLine(key: number): string {
  return `The pass key is ${key}. Remember it. ${key} is the pass key.`;
}

/** The full prompt with `prefix` and `suffix` filler repetitions around the key. */
export function passkeyPrompt(key: number, prefix: number, suffix: number): string {
  const fill = (n: number) => Array.from({ length: n }, () => PASSKEY_FILLER).join(' ');
  return [PASSKEY_INTRO, fill(prefix), passkeyLine(key), fill(suffix), PASSKEY_QUESTION].join('\n');
}

/** A seeded trial: a key in [1, 50000) and the most filler whose prompt stays within `length` tokens. */
export function buildPasskeyTrial(
  length: number,
  seed: number,
  countTokens: (text: string) => number,
): { key: number; prompt: string; tokens: number } {
  const rng = new Rng(seed);
  const key = 1 + rng.int(49999);
  const fixed = countTokens(passkeyPrompt(key, 0, 0));
  const perFiller = Math.max(1, countTokens(passkeyPrompt(key, 1, 0)) - fixed);
  let n = Math.max(0, Math.floor((length - fixed) / perFiller));
  const split = () => rng.int(n + 1);
  let prefix = split();
  let prompt = passkeyPrompt(key, prefix, n - prefix);
  let tokens = countTokens(prompt);
  // The estimate can overshoot by a few tokens where filler joins tokenize differently: trim.
  while (tokens > length && n > 0) {
    n--;
    prefix = Math.min(prefix, n);
    prompt = passkeyPrompt(key, prefix, n - prefix);
    tokens = countTokens(prompt);
  }
  return { key, prompt, tokens };
}

/** Exact match: the first number in the answer must be the key. */
export function passkeyCorrect(answer: string, key: number): boolean {
  const m = /\d+/.exec(answer);
  return m !== null && m[0] === String(key);
}
