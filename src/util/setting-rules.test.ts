import { describe, expect, it } from 'vitest';
import { num } from '../cli/args.ts';
import { studioDefaults } from '../train/settings.ts';
import {
  firstNumberProblem,
  NUMBER_RULES,
  numberProblem,
  numberProblems,
  rangeText,
  ruleOfFlag,
} from './setting-rules.ts';

describe('the numeric settings’ ranges', () => {
  it('refuses a LoRA rank of 0 with the field named and the range stated', () => {
    expect(numberProblem(NUMBER_RULES.rank, 0)).toBe(
      'LoRA rank must be a whole number from 1 to 1,024 (got 0).',
    );
    expect(numberProblem(NUMBER_RULES.rank, 8)).toBeNull();
    expect(numberProblem(NUMBER_RULES.rank, 2.5)).toMatch(/whole number/);
  });

  it('says an empty field is empty, and a learning rate must be above 0', () => {
    expect(numberProblem(NUMBER_RULES.steps, NaN, 'Steps', '')).toBe(
      'Steps is empty: enter a whole number from 1 to 10,000,000.',
    );
    expect(numberProblem(NUMBER_RULES.lr, 0)).toBe(
      'Learning rate must be a number above 0, at most 1 (got 0).',
    );
    expect(numberProblem(NUMBER_RULES.lr, 2e-5)).toBeNull();
  });

  it('accepts every default the studio starts from, for tiny and large models', () => {
    for (const parameters of [260e3, 7e9]) {
      const s = studioDefaults({ contextLength: 512, defaultContext: 2048, parameters });
      expect(numberProblems(s)).toEqual({});
    }
  });

  it('finds each out-of-range setting of a settings object by key, and only those', () => {
    const s = studioDefaults({ contextLength: 512, defaultContext: 2048, parameters: 1e6 });
    const bad = { ...s, rank: 0, checkpointMinutes: -1, keepCheckpoints: 1.5 };
    expect(Object.keys(numberProblems(bad)).sort()).toEqual([
      'checkpointMinutes',
      'keepCheckpoints',
      'rank',
    ]);
    expect(firstNumberProblem(bad)).toMatch(/^LoRA rank/);
  });

  it('knows every flag by its name, and describes ranges in words', () => {
    expect(ruleOfFlag('rank')).toBe(NUMBER_RULES.rank);
    expect(ruleOfFlag('max-windows')).toBe(NUMBER_RULES.maxWindows);
    expect(ruleOfFlag('model')).toBeUndefined();
    expect(rangeText(NUMBER_RULES.topP)).toBe('a number above 0, at most 1');
  });

  it('the CLI’s num() refuses what the table refuses, naming the flag (exit 2: a UsageError)', () => {
    const refuse = (flag: string, value: string) => {
      try {
        num({ [flag]: value }, flag, 1);
      } catch (e) {
        expect((e as { kind?: string }).kind).toBe('usage');
        return (e as Error).message;
      }
      throw new Error(`--${flag} ${value} was accepted`);
    };
    expect(refuse('rank', '0')).toBe('--rank must be a whole number from 1 to 1,024 (got 0).');
    expect(refuse('max-windows', '0')).toBe(
      '--max-windows must be a whole number from 1 to 1,000,000,000 (got 0).',
    );
    expect(refuse('lr', 'fast')).toBe('--lr must be a number above 0, at most 1 (got fast).');
    expect(refuse('keep-checkpoints', '-1')).toMatch(/^--keep-checkpoints must be/);
    expect(refuse('checkpoint-minutes', '')).toMatch(/^--checkpoint-minutes is empty/);
    expect(num({ rank: '16' }, 'rank', 8)).toBe(16);
    expect(num({}, 'rank', 8)).toBe(8);
    // A numeric flag without a range is a bug, found here rather than by a user.
    expect(() => num({ x: '1' }, 'no-such-flag', 0)).toThrow(/no range/);
  });
});
