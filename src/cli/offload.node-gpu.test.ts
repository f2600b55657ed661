/**
 * `--offload` on the command line (issue 27): grad with the checkpoints in host memory writes the
 * same bytes as grad with them on the GPU; train with `--offload checkpoints` follows the same loss
 * trajectory to the bit and exports an adapter; a wrong choice and a host budget too small are
 * refused before anything is allocated.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { assetPath, DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';
import { main } from './main.ts';

const run = cliRunner();

describe('longlora --offload on stories260K', () => {
  it('grad: the same loss and gradients, byte for byte, with the checkpoints in host memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-offload-grad-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 37 + 1) % 512)));
    const grad = async (offload: string) => {
      const file = join(dir, `${offload}.safetensors`);
      const args = ['--tokens', tokens, '--context', '64', '--out', file, '--offload', offload];
      await run('grad', '--model', DEMO_DIR, ...args);
      return { bytes: readFileSync(file), log: run.stderr() };
    };
    const kept = await grad('none');
    const off = await grad('checkpoints');
    expect(kept.log).not.toMatch(/checkpoints in host memory/);
    expect(off.log).toMatch(/checkpoints in host memory: \d+(\.\d+)? KiB/);
    expect(Buffer.compare(off.bytes, kept.bytes)).toBe(0);
  });

  it('train --offload checkpoints: the same losses to the bit, and an adapter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-offload-train-'));
    const data = join(dir, 'data.txt');
    writeFileSync(data, readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 12000));
    const train = async (offload: string) => {
      const out = join(dir, offload);
      const log = join(dir, `${offload}.jsonl`);
      await run(
        'train',
        ...['--model', DEMO_DIR, '--data', data, '--out', out, '--context', '128'],
        ...['--steps', '3', '--lr', '2e-3', '--warmup', '1', '--order', 'sequential'],
        ...['--eval-windows', '1', '--no-tune', '--offload', offload, '--log-json', log],
      );
      // Each step's loss and gradient norm (its time and memory differ by design).
      const steps = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; loss?: number; gradNorm?: number })
        .filter((e) => e.type === 'step')
        .map((e) => [e.loss, e.gradNorm]);
      return { out, steps };
    };
    const kept = await train('none');
    const off = await train('checkpoints');
    expect(off.steps).toHaveLength(3);
    expect(off.steps).toEqual(kept.steps);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'trainable_params.bin'])
      expect(existsSync(join(off.out, f)), f).toBe(true);
    expect(readFileSync(join(off.out, 'adapter_model.safetensors'))).toEqual(
      readFileSync(join(kept.out, 'adapter_model.safetensors')),
    );
  });

  it('refuses a choice it does not know and a host budget the checkpoints do not fit', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation(
      (...a: unknown[]) => void errors.push(a.join(' ')),
    );
    const code = (...argv: string[]) => main(argv);
    expect(await code('info', '--model', DEMO_DIR, '--offload', 'disk')).toBe(2);
    expect(errors.pop()).toMatch(/--offload must be none or checkpoints or auto \(got disk\)/);
    const tight = ['--context', '1024', '--offload', 'checkpoints', '--host-budget', '1MiB'];
    const json = JSON.parse(await run('info', '--model', DEMO_DIR, ...tight, '--json')) as {
      fits: boolean;
      problem: string;
      plan: { hostBytes: number; offloaded: boolean };
    };
    expect(json.plan.offloaded).toBe(true);
    expect(json.plan.hostBytes).toBeGreaterThan(2 ** 20);
    expect(json.fits).toBe(false);
    expect(json.problem).toMatch(
      /host memory .* the host budget is 1\.00 MiB\. Keep the checkpoints on the GPU \(--offload none\)/,
    );
  });
});
