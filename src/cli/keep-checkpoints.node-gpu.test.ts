/** `train --keep-checkpoints K`: only the newest K checkpoints of the run stay in --out/checkpoints. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assetPath, DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'keep-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = cliRunner();

const train = (out: string, ...extra: string[]) =>
  run(
    'train',
    ...['--model', DEMO_DIR, '--data', assetPath('tinystories-197k.txt'), '--out', out],
    ...['--context', '32', '--steps', '5', '--warmup', '1', '--checkpoint-every', '1'],
    ...['--eval-windows', '1', ...extra],
  );

const stored = (out: string) =>
  readdirSync(join(out, 'checkpoints'))
    .filter((n) => !n.endsWith('.tmp'))
    .map((n) => Number(/step(\d+)$/.exec(n)![1]))
    .sort((a, b) => a - b);

describe('train --keep-checkpoints', () => {
  it('keeps the newest K (default 3, 0 = all) and refuses a negative K', async () => {
    await train(join(dir, 'two'), '--keep-checkpoints', '2');
    expect(stored(join(dir, 'two'))).toEqual([4, 5]);
    await train(join(dir, 'default'));
    expect(stored(join(dir, 'default'))).toEqual([3, 4, 5]);
    await train(join(dir, 'all'), '--keep-checkpoints', '0');
    expect(stored(join(dir, 'all'))).toEqual([1, 2, 3, 4, 5]);
    await expect(train(join(dir, 'bad'), '--keep-checkpoints', '-1')).rejects.toThrow(/exited/);
  });
});
