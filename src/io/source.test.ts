import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from './errors.ts';
import { nodeFileSource } from './source-node.ts';
import { baseName, bytesSource, fileSource, readJson, type ByteSource } from './source.ts';

const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);

async function checkRanges(src: ByteSource): Promise<void> {
  expect(src.size).toBe(100);
  expect(Array.from(await src.read(10, 5))).toEqual([10, 11, 12, 13, 14]);
  expect(Array.from(await src.read(97, 10))).toEqual([97, 98, 99]); // short only at the end
  expect((await src.read(100, 4)).length).toBe(0);
}

describe('byte sources', () => {
  it('bytesSource, fileSource (File slices) and nodeFileSource read the same ranges', async () => {
    await checkRanges(bytesSource('b.bin', bytes));
    const file = new File([bytes], 'f.bin');
    const fs = fileSource(file);
    expect(fs.name).toBe('f.bin');
    await checkRanges(fs);
    const dir = await mkdtemp(join(tmpdir(), 'io-src-'));
    try {
      await writeFile(join(dir, 'n.bin'), bytes);
      const ns = await nodeFileSource(join(dir, 'n.bin'));
      expect(baseName(ns.name)).toBe('n.bin');
      await checkRanges(ns);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('readJson names the file on invalid JSON', async () => {
    const src = bytesSource('dir/config.json', new TextEncoder().encode('{"a": '));
    const err = await readJson(src).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).file).toBe('dir/config.json');
    expect(baseName('a\\b\\c.json')).toBe('c.json');
  });
});
