import { describe, expect, it } from 'vitest';
import {
  buildPasskeyTrial,
  PASSKEY_FILLER,
  PASSKEY_INTRO,
  PASSKEY_QUESTION,
  passkeyCorrect,
  passkeyPrompt,
} from './passkey.ts';

const words = (t: string) => t.split(/\s+/).filter(Boolean).length + 1; // + BOS

describe('passkey prompt', () => {
  it('follows the official template line by line', () => {
    const lines = passkeyPrompt(12345, 2, 1).split('\n');
    expect(lines).toEqual([
      PASSKEY_INTRO,
      `${PASSKEY_FILLER} ${PASSKEY_FILLER}`,
      'The pass key is 12345. Remember it. 12345 is the pass key.',
      PASSKEY_FILLER,
      PASSKEY_QUESTION,
    ]);
    expect(PASSKEY_QUESTION).toBe('What is the pass key? The pass key is');
  });

  it('fills up to the requested length, is seeded, and keeps the key in [1, 50000)', () => {
    const keys = new Set<number>();
    for (let seed = 1; seed <= 50; seed++) {
      const t = buildPasskeyTrial(1000, seed, words);
      expect(t.tokens).toBeLessThanOrEqual(1000);
      // One more filler repetition would not fit.
      expect(t.tokens + words(PASSKEY_FILLER) - 1).toBeGreaterThan(1000);
      expect(t.key).toBeGreaterThanOrEqual(1);
      expect(t.key).toBeLessThan(50000);
      expect(t.prompt).toContain(`The pass key is ${t.key}.`);
      expect(buildPasskeyTrial(1000, seed, words)).toEqual(t);
      keys.add(t.key);
    }
    expect(keys.size).toBeGreaterThan(40);
  });

  it('scores by exact match of the first number', () => {
    expect(passkeyCorrect(' 4821. Remember', 4821)).toBe(true);
    expect(passkeyCorrect('48210', 4821)).toBe(false);
    expect(passkeyCorrect('482', 4821)).toBe(false);
    expect(passkeyCorrect('the sky', 4821)).toBe(false);
  });
});
