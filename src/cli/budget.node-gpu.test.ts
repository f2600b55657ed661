/**
 * The GPU memory a plan assumes when none is stated (WebGPU cannot report it): one default, stated
 * the same way by --help, info, eval, grad and train, on this machine's adapter (SwiftShader here).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';

const run = cliRunner();
const ASSUMED = 'an assumed 8 GiB';

describe('the assumed GPU memory budget, everywhere the CLI states it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-budget-'));
  const data = join(dir, 'story.txt');
  writeFileSync(data, readFileSync(join(DEMO_DIR, 'tinystories-197k.txt'), 'utf8').slice(0, 4000));
  const tokens = join(dir, 'ids.json');
  writeFileSync(tokens, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 7 + 3) % 512)));

  it('--help', async () => {
    expect(await run('--help')).toContain('without it the plan assumes 8 GiB');
  });

  it('info', async () => {
    const out = await run('info', '--model', DEMO_DIR, '--context', '64');
    expect(out).toContain(`Fits in ${ASSUMED}.`);
    const json = JSON.parse(await run('info', '--model', DEMO_DIR, '--context', '64', '--json'));
    expect(json.budgetGiB).toBe(8);
    // A stated budget is named as given.
    expect(await run('info', '--model', DEMO_DIR, '--context', '64', '--budget', '16GiB')).toMatch(
      /Fits in 16\.0 GiB\./,
    );
  });

  it('eval, grad and train', async () => {
    await run('eval', '--model', DEMO_DIR, '--data', data, '--context', '64', '--max-windows', '1');
    expect(run.stderr()).toContain(`(budget: ${ASSUMED})`);
    await run(
      'grad',
      ...['--model', DEMO_DIR, '--tokens', tokens, '--context', '64'],
      ...['--out', join(dir, 'g.safetensors')],
    );
    expect(run.stderr()).toContain(`(budget: ${ASSUMED})`);
    await run(
      'train',
      ...['--model', DEMO_DIR, '--data', data, '--out', join(dir, 'run')],
      ...['--context', '64', '--steps', '1', '--holdout-blocks', '0', '--no-tune'],
    );
    expect(run.stderr()).toContain(`(budget: ${ASSUMED})`);
  }, 300_000);
});
