/**
 * Byte sizes as the studio and the CLI print them: binary units (powers of 1024, as GPU limits and
 * memory are counted), labelled as such — B, KiB, MiB, GiB, TiB — with three significant digits.
 * One formatter for both hosts, so a plan reads the same in the page and in a terminal.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.50 KiB", 13.5 MiB → "13.5 MiB", 300 MiB → "300 MiB"; not finite → "—". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  // Rounding may carry into the next unit (1023.9 KiB → "1024 KiB"): step up instead.
  if (u > 0 && u < UNITS.length - 1 && Number(v.toFixed(0)) >= 1024) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${n < 0 ? '-' : ''}${s} ${UNITS[u]}`;
}

/** The unit formatBytes picks for `n` (0 = B, 1 = KiB, …): an axis picks one for all its ticks. */
export function byteUnit(n: number): number {
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u;
}

/** `n` in unit `u` (byteUnit's), three significant digits at most: an axis tick ("586 KiB" → "0.57 MiB"). */
export function formatBytesIn(n: number, u: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n === 0) return `0 ${UNITS[u]}`;
  const v = n / 1024 ** u;
  const a = Math.abs(v);
  const s = u === 0 ? String(Math.round(v)) : v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
  return `${s} ${UNITS[u]}`;
}

/** Bytes per type, in the list's order: "Q4_K 3.50 GiB, f32 128 MiB" ("none" for an empty list). */
export function formatBytesByType(list: readonly { type: string; bytes: number }[]): string {
  return list.length ? list.map((t) => `${t.type} ${formatBytes(t.bytes)}`).join(', ') : 'none';
}
