/** Number formatting shared by the panels and charts. */

export { formatBytes, formatBytesByType } from '../util/bytes.ts';

/** 1234567 → "1.23M"; small numbers stay exact. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)}B`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)}K`;
  return n.toLocaleString('en-US');
}

/** Milliseconds → "1h 02m", "3m 05s", "12s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/**
 * A learning-rate axis tick: every tick in the same notation (1.5e-3, 1.0e-3, 5.0e-4), whatever the
 * scale, so neighbours never switch between decimals and exponents.
 */
export function formatLrAxis(lr: number): string {
  if (lr === 0) return '0';
  return lr.toExponential(1);
}

/** A learning rate like 2e-5 or 0.002, short. */
export function formatLr(lr: number): string {
  if (lr === 0) return '0';
  return lr < 1e-3 ? lr.toExponential(1) : String(Number(lr.toPrecision(2)));
}
