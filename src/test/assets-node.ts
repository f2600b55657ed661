/** Test helpers (Node): the real demo assets the repository ships in public/demo/, and in-memory sources. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesSource, type ByteSource } from '../io/source.ts';

/** The demo model's folder (public/demo/: stories260K as an HF folder, its GGUF, and the text). */
export const DEMO_DIR = fileURLToPath(new URL('../../public/demo', import.meta.url));

/** Absolute path of a file under public/demo/ (stories260K, its tokenizer, tinystories-197k.txt). */
export function assetPath(name: string): string {
  return fileURLToPath(new URL(`../../public/demo/${name}`, import.meta.url));
}

/** A ByteSource over a demo asset, named by its file name. */
export function assetSource(name: string): ByteSource {
  return bytesSource(name, new Uint8Array(readFileSync(assetPath(name))));
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
