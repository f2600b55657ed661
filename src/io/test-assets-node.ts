/** Test helpers (Node): the shared real assets and in-memory sources. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesSource, type ByteSource } from './source.ts';

/** Absolute path of a file under ../shared/assets (relative to the repository root). */
export function assetPath(rel: string): string {
  return fileURLToPath(new URL(`../../../shared/assets/${rel}`, import.meta.url));
}

/** A ByteSource over a shared asset, named by its base name. */
export function assetSource(rel: string): ByteSource {
  const bytes = new Uint8Array(readFileSync(assetPath(rel)));
  return bytesSource(rel.split('/').pop()!, bytes);
}

/** ByteSources over a record of in-memory files (e.g. a generated fixture folder). */
export function sourcesOf(files: Record<string, Uint8Array>, prefix = ''): ByteSource[] {
  return Object.entries(files)
    .filter(([name]) => name.startsWith(prefix))
    .map(([name, bytes]) => bytesSource(name.slice(prefix.length), bytes));
}

/** Index of the first element where two arrays differ (-1 when equal in length and values, bitwise for floats). */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
