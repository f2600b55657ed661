import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readSafetensorsHeader, readTensorBytes } from '../io/safetensors.ts';
import { bytesSource } from '../io/source.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';
import { tinyLlama11BConfigJson } from '../test/fixtures.ts';
import { realConfigJson, type RealModelName } from '../test/real-shapes.ts';
import { main } from './main.ts';

const run = cliRunner();

/** Every tensor of a safetensors file as raw bytes, by name. */
async function tensors(file: string): Promise<Map<string, Uint8Array>> {
  const src = bytesSource('g', new Uint8Array(readFileSync(file)));
  const h = await readSafetensorsHeader(src);
  const outMap = new Map<string, Uint8Array>();
  for (const t of h.tensors) outMap.set(t.name, await readTensorBytes(src, t));
  return outMap;
}

describe('--max-binding-size / --max-buffer-size: plans and runs as on a smaller GPU', () => {
  it('info plans against the capped limits: the embedding is split, no buffer over the cap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-caps-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyLlama11BConfigJson()));
    const cap = 128 * 2 ** 20;
    const args = ['info', '--model', dir, '--context', '2048', '--json'];
    const capped = JSON.parse(await run(...args, '--max-binding-size', String(cap)));
    expect(capped.limits.maxStorageBufferBindingSize).toBe(cap);
    expect(capped.fits).toBe(true);
    // The trainable f32 embedding (32000 × 2048 × 4 B = 262 MB) is planned as row blocks.
    expect(capped.plan.largestBuffer.bytes).toBeLessThanOrEqual(cap);
    // At 8192 tokens the MLP activations ([T, 5632] f32, 176 MiB) exceed the cap whole: the MLP runs
    // in token blocks, so every buffer stays within it.
    const long = JSON.parse(
      await run(
        'info',
        '--model',
        dir,
        '--context',
        '8192',
        '--json',
        '--max-binding-size',
        String(cap),
      ),
    );
    expect(long.plan.largestBuffer.bytes).toBeLessThanOrEqual(cap);
    expect(long.problem ?? '').not.toMatch(/more than this GPU binds/);
  });

  it('grad under a tiny binding cap gives the same gradients as without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-caps-grad-'));
    const ids = join(dir, 'ids.json');
    writeFileSync(ids, JSON.stringify(Array.from({ length: 32 }, (_, i) => (i * 53 + 7) % 512)));
    const grad = async (file: string, ...caps: string[]) => {
      await run(
        ...['grad', '--model', DEMO_DIR, '--tokens', ids, '--context', '32'],
        '--out',
        file,
        ...caps,
      );
      return tensors(file);
    };
    const whole = await grad(join(dir, 'whole.safetensors'));
    // 512 × 64 f32 = 128 KiB of embedding (and its gradient) in 48 KiB blocks: 3 blocks each.
    const split = await grad(join(dir, 'split.safetensors'), '--max-binding-size', '49152');
    expect([...split.keys()]).toEqual([...whole.keys()]);
    // The split output layer runs on the cross-entropy kernels (block by block), the whole one's
    // logits on the tuned linear launchers: the sums are grouped differently, so every gradient
    // agrees to float rounding, not to the bit: within 1e-5 of the tensor's largest value (plus
    // 1e-5 relative), where a wrong block would be off by the values themselves. (Seen: 4e-5
    // relative on a small entry of a LoRA B gradient, 1.8e-7 absolute.)
    for (const [name, bytes] of whole) {
      const a = new Float32Array(bytes.slice().buffer);
      const b = new Float32Array(split.get(name)!.slice().buffer);
      const scale = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      for (let i = 0; i < a.length; i++) {
        const tol = 1e-7 + 1e-5 * (scale + Math.abs(a[i]!));
        if (Math.abs(a[i]! - b[i]!) > tol) expect.fail(`${name}[${i}]: ${a[i]} vs ${b[i]}`);
      }
    }
  });

  it('an 8 GB card trains a 1B model at 8k: info on config-only folders under a 128 MiB cap', async () => {
    const cap = 128 * 2 ** 20;
    const GiB = 2 ** 30;
    const targets: [RealModelName, number][] = [
      ['tinyllama-1.1b', 7 * GiB],
      ['llama-3.2-1b', 7 * GiB],
      ['llama-2-7b', 22 * GiB],
    ];
    for (const [name, within] of targets) {
      const dir = mkdtempSync(join(tmpdir(), `longlora-${name}-`));
      writeFileSync(join(dir, 'config.json'), JSON.stringify(realConfigJson(name)));
      const args = ['--context', '8192', '--max-binding-size', String(cap), '--json'];
      const j = JSON.parse(await run('info', '--model', dir, ...args, '--budget', '24GiB'));
      expect(j.fits, `${name}: ${j.problem}`).toBe(true);
      expect(j.plan.total, name).toBeLessThanOrEqual(within);
      expect(j.plan.largestBuffer.bytes, name).toBeLessThanOrEqual(cap);
    }
  });

  it('refuses a cap that is not a positive multiple of 4 bytes', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation(
      (...a: unknown[]) => void errors.push(a.join(' ')),
    );
    expect(await main(['info', '--model', DEMO_DIR, '--max-binding-size', '6'])).toBe(2);
    expect(errors.join('\n')).toMatch(/--max-binding-size must be a positive multiple of 4/);
  });
});
