/**
 * Every command refuses a numeric flag out of its range before it reads data or touches the GPU:
 * exit 2, the flag named, the range stated (the ranges are the studio's, src/util/setting-rules.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO_DIR } from '../test/assets-node.ts';
import { main } from './main.ts';

async function refused(...argv: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const code = await main(argv);
  return { code, stderr: errors.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('numeric flags out of range', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-ranges-'));
  const text = join(dir, 'data.txt');
  writeFileSync(text, 'Once upon a time there was a little dog. '.repeat(200));

  it('info --rank 0 plans nothing and names the flag', async () => {
    const r = await refused('info', '--model', DEMO_DIR, '--rank', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rank must be a whole number from 1 to 1,024 (got 0).');
    expect(r.stderr).not.toMatch(/LoRA r0|autotune/);
  });

  it('train --rank 0 is refused before anything runs', async () => {
    const out = join(dir, 'run');
    const r = await refused(
      'train',
      '--model',
      DEMO_DIR,
      '--data',
      text,
      '--out',
      out,
      '--rank',
      '0',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rank must be a whole number from 1 to 1,024 (got 0).');
  });

  it('eval --max-windows 0 says what --max-windows takes, not that the data is short', async () => {
    const r = await refused(
      ...['eval', '--model', DEMO_DIR, '--data', text, '--context', '64', '--max-windows', '0'],
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--max-windows must be a whole number from 1');
    expect(r.stderr).not.toMatch(/fewer than one window/);
  });

  it.each([
    ['--lr', '0'],
    ['--steps', '0'],
    ['--grad-accum', '0'],
    ['--checkpoint-minutes', '-2'],
    ['--keep-checkpoints', '-1'],
    ['--group-size', '1'],
    ['--context', '1'],
    ['--eval-windows', '0'],
    ['--alpha', '0'],
  ])('train %s %s: exit 2, the flag and its range', async (flag, value) => {
    const out = join(dir, 'run2');
    const r = await refused(
      'train',
      '--model',
      DEMO_DIR,
      '--data',
      text,
      '--out',
      out,
      `${flag}=${value}`,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${flag} (must be|is empty)`));
    expect(r.stderr).toMatch(/from \d|above \d/);
  });
});
