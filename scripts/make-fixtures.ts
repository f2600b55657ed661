/** Writes the generated fixtures (tiny models, GGUFs, malformed files) to fixtures/generated/. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allFixtures } from '../src/test/fixtures-malformed.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'generated');

/** Writes every fixture under `dir` (replacing what was there); returns the number of files. */
export async function makeFixtures(dir = root): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  const files = allFixtures();
  for (const [path, bytes] of Object.entries(files)) {
    const out = join(dir, path);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, bytes);
  }
  return Object.keys(files).length;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = await makeFixtures();
  console.log(`wrote ${n} fixture files to ${root}`);
}
