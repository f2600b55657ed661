import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { flagOf, NUMBER_RULES } from '../util/setting-rules.ts';
import {
  cliDefaults,
  groupOf,
  loraOf,
  ropeFactorOf,
  storedSettings,
  studioDefaults,
  type RunSettings,
} from './settings.ts';

describe('one settings type', () => {
  it('has a range for every number, named like its CLI flag (the key in kebab-case)', async () => {
    const s = cliDefaults(1024);
    const numeric = Object.entries(s)
      .filter(([k, v]) => typeof v === 'number' || k === 'groupSize' || k === 'ropeFactor')
      .map(([k]) => k);
    const optimizer = ['beta1', 'beta2', 'eps', 'weightDecay'];
    for (const k of numeric.filter((k) => !optimizer.includes(k)))
      expect(NUMBER_RULES, `a range for ${k}`).toHaveProperty(k);
    expect(flagOf('gradAccum')).toBe('grad-accum');
    expect(flagOf('keepCheckpoints')).toBe('keep-checkpoints');
    // `longlora train --help`-free check: every such flag is an option train accepts (an unknown
    // one is a usage error naming it; a known one gets as far as --model).
    for (const k of numeric.filter((k) => !optimizer.includes(k))) {
      const errors: string[] = [];
      const log = console.error;
      console.error = (...a: unknown[]) => void errors.push(a.join(' '));
      try {
        expect(await main(['train', `--${flagOf(k)}`, '1'])).toBe(2);
      } finally {
        console.error = log;
      }
      expect(errors.join('\n'), `--${flagOf(k)}`).toMatch(/--model is required/);
    }
  });

  it('resolves the group and the RoPE factor from the context unless the settings give them', () => {
    const s = cliDefaults(2048);
    expect(groupOf(s)).toBe(512);
    expect(groupOf({ ...s, attention: 'full' })).toBe(2048);
    expect(groupOf({ ...s, groupSize: 256 })).toBe(256);
    const shape = { maxPositions: 512, ropeScaling: null };
    expect(ropeFactorOf(s, shape)).toBe(4);
    expect(ropeFactorOf({ ...s, ropeFactor: 8 }, shape)).toBe(8);
    expect(loraOf({ ...s, trainable: ['norm'] })).toMatchObject({
      trainEmbed: false,
      trainNorm: true,
    });
  });

  it('reads a checkpoint’s settings written before this type (pattern, group, a nested lora)', () => {
    const old = {
      context: 64,
      pattern: 's2roll',
      group: 16,
      ropeFactor: 1,
      lora: { rank: 4, alpha: 8, targets: ['q_proj'], trainEmbed: false, trainNorm: true },
      lr: 1e-3,
      warmup: 2,
      schedule: 'cosine',
      steps: 30,
      gradAccum: 2,
      clip: 1,
      seed: 9,
      order: 'shuffled',
      evalEvery: 5,
      evalWindows: 2,
      checkpointEvery: 10,
      checkpointMinutes: 1,
      keepCheckpoints: 3,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0,
      checkpointing: true,
    };
    const s = storedSettings(old);
    const want: RunSettings = {
      ...cliDefaults(64),
      attention: 's2roll',
      groupSize: 16,
      ropeFactor: 1,
      rank: 4,
      alpha: 8,
      targets: ['q_proj'],
      trainable: ['norm'],
      lr: 1e-3,
      warmup: 2,
      schedule: 'cosine',
      steps: 30,
      gradAccum: 2,
      seed: 9,
      evalEvery: 5,
      evalWindows: 2,
      checkpointEvery: 10,
      checkpointMinutes: 1,
    };
    expect(s).toEqual(want);
    // Today's settings come back as they are.
    expect(storedSettings(want)).toEqual(want);
  });

  it('reads a checkpoint’s settings written before baseQuant as trained on the stored weights', () => {
    const today = cliDefaults(256);
    const { baseQuant: _, ...before } = today;
    expect(storedSettings(before)).toEqual({ ...today, baseQuant: 'none' });
    const q4 = { ...today, baseQuant: 'q4_k' as const };
    expect(storedSettings(q4)).toEqual(q4);
    expect(storedSettings(JSON.parse(JSON.stringify(q4)))).toEqual(q4);
  });

  it('reads a checkpoint’s settings written before offload as keeping checkpoints on the GPU', () => {
    const today = cliDefaults(256);
    const { offload: _, ...before } = today;
    expect(storedSettings(before)).toEqual({ ...today, offload: 'none' });
    const host = { ...today, offload: 'checkpoints' as const };
    expect(storedSettings(JSON.parse(JSON.stringify(host)))).toEqual(host);
  });

  it('gives the studio a short, visible run for tiny models and the official recipe otherwise', () => {
    const tiny = studioDefaults({ contextLength: 512, defaultContext: 2048, parameters: 260e3 });
    expect(tiny).toMatchObject({ context: 1024, lr: 2e-3, steps: 60, gradAccum: 1 });
    const big = studioDefaults({ contextLength: 4096, defaultContext: 16384, parameters: 7e9 });
    expect(big).toMatchObject({ context: 16384, lr: 2e-5, steps: 1000, gradAccum: 8 });
  });
});
