import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatLr, formatLrAxis } from './format.ts';
import { byteUnit, formatBytesByType, formatBytesIn } from '../util/bytes.ts';
import { defaultTargetContext, groupSize } from '../model/longlora.ts';
import { studioDefaults } from '../train/settings.ts';

describe('formatters', () => {
  it('says bytes per type in the order given (the base weights on the GPU)', () => {
    const list = [
      { type: 'Q4_K', bytes: 3.5 * 2 ** 30 },
      { type: 'Q6_K', bytes: 0.4 * 2 ** 30 },
      { type: 'f32', bytes: 128 * 2 ** 20 },
    ];
    expect(formatBytesByType(list)).toBe('Q4_K 3.50 GiB, Q6_K 410 MiB, f32 128 MiB');
    expect(formatBytesByType([])).toBe('none');
  });

  it('formats bytes in powers of 1024', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(2 ** 30)).toBe('1.00 GiB');
    expect(formatBytes(300 * 2 ** 20)).toBe('300 MiB');
    expect(formatBytes(13.5 * 2 ** 20)).toBe('13.5 MiB');
    expect(formatBytes(1023.9 * 1024)).toBe('1.00 MiB');
    expect(formatBytes(-2048)).toBe('-2.00 KiB');
    // Every size is labelled in binary units, never KB/MB/GB.
    for (let e = 0; e < 44; e += 3)
      expect(formatBytes(1.7 * 2 ** e)).toMatch(/^[\d.]+ (B|[KMGT]iB)$/);
  });
  it('formats counts', () => {
    expect(formatCount(512)).toBe('512');
    expect(formatCount(260_000)).toBe('260K');
    expect(formatCount(6_738_415_616)).toBe('6.74B');
  });
  it('formats durations', () => {
    expect(formatDuration(12_000)).toBe('12s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(NaN)).toBe('—');
  });
  it('formats learning rates', () => {
    expect(formatLr(2e-5)).toBe('2.0e-5');
    expect(formatLr(0.002)).toBe('0.002');
  });
  it('writes every memory axis tick in the unit of its largest', () => {
    const u = byteUnit(2.29 * 2 ** 20);
    expect([2.29, 1.72, 0.572, 0].map((m) => formatBytesIn(m * 2 ** 20, u))).toEqual([
      '2.29 MiB',
      '1.72 MiB',
      '0.57 MiB',
      '0 MiB',
    ]);
  });
  it('writes every learning-rate axis tick in one notation', () => {
    const ticks = [0.0022, 0.0016, 0.0011, 5.5e-4, 0].map(formatLrAxis);
    expect(ticks).toEqual(['2.2e-3', '1.6e-3', '1.1e-3', '5.5e-4', '0']);
  });
});

describe('settings', () => {
  it("defaults to the model's default context with S²-Attn (2× and a short run for tiny demos)", () => {
    const config = { maxPositions: 4096, ropeScaling: null };
    const big = studioDefaults({
      contextLength: 4096,
      defaultContext: defaultTargetContext(config),
      parameters: 7e9,
    });
    expect(big.context).toBe(16384);
    expect(big.attention).toBe('s2');
    expect(groupSize(big.context, big.attention)).toBe(4096);
    expect(big.lr).toBe(2e-5);
    const s = studioDefaults({ contextLength: 512, defaultContext: 2048, parameters: 260_000 });
    expect(s.context).toBe(1024);
    expect(groupSize(s.context, s.attention)).toBe(256);
    expect(s.lr).toBe(2e-3);
    expect(s.steps).toBe(60);
  });
});
