/**
 * `longlora tune` and the first-use tuning of `train`: a first command times the step's attention
 * and every matmul shape class of the model at its context and writes the choices to the cache
 * file; the next command (a fresh process's view: memory cleared) reads them and times nothing.
 * `train`'s bounded pass on a CPU adapter keeps attention's rule (its candidates take seconds to
 * compile there).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearTuneCache } from '../engine/kernels/autotune.ts';
import { assetPath, DEMO_DIR } from '../test/assets-node.ts';
import { main } from './main.ts';

let out: string[] = [];
let err: string[] = [];
let cacheDir = '';
beforeEach(() => {
  out = [];
  err = [];
  cacheDir = mkdtempSync(join(tmpdir(), 'longlora-tune-cli-'));
  vi.stubEnv('LONGLORA_CACHE_DIR', cacheDir);
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function run(...argv: string[]): Promise<{ stdout: string; stderr: string }> {
  out = [];
  err = [];
  // Each command stands for a new process: nothing tuned in memory, only the cache file.
  clearTuneCache();
  const code = await main(argv);
  if (code !== 0) throw new Error(`longlora ${argv.join(' ')} exited ${code}: ${err.join('')}`);
  return { stdout: out.join('\n'), stderr: err.join('') };
}

describe('longlora tune', () => {
  it('--json lists every choice with its timings, then reads them from the cache file', async () => {
    const first = JSON.parse(
      (await run('tune', '--model', DEMO_DIR, '--context', '128', '--json')).stdout,
    );
    expect(first.cache).toBe(join(cacheDir, 'autotune.json'));
    expect(first.adapter).toMatch(/\w/);
    // stories260K (hidden 64, 8 heads / 4 kv heads, MLP 172), LoRA on q,k,v,o: 14 shape classes of
    // the layers, then the output layer's logits (and its dHidden on a GPU adapter).
    type Choice = { what: string; op: string; M: number; N: number; K: number };
    const layers = first.choices.filter((c: Choice) => /proj/.test(c.what));
    const output = first.choices.filter((c: Choice) => c.what === 'output layer');
    expect(layers.length).toBe(14);
    expect(output.length).toBe(first.choices.length - 14);
    expect(output[0]).toMatchObject({ op: 'forward', M: 128, N: 512, K: 64 });
    expect(output.length).toBeLessThanOrEqual(2);
    for (const c of first.choices) {
      expect(c.source).toBe('timed');
      expect(['naive', 'tiled', 'regblock', 'direct', 'direct8', 'quad8', 'subgroup']).toContain(
        c.choice,
      );
      expect(c.timings[c.choice]).toBeGreaterThan(0);
    }
    // Every family of a training step with its variant: matmul's are this pass's choices.
    type Kernel = { family: string; variant: string; files: string[]; classes?: number };
    const kernels: Kernel[] = first.kernels;
    expect([...new Set(kernels.map((k) => k.family))]).toEqual([
      'matmul',
      'attention',
      'cross_entropy',
      'cross_entropy.backward',
      'lora',
      'rmsnorm',
      'gradnorm',
    ]);
    const matmul = kernels.filter((k) => k.family === 'matmul');
    expect(matmul.reduce((n, k) => n + k.classes!, 0)).toBe(first.choices.length);
    for (const k of matmul) expect(k.files).toEqual([`matmul.${k.variant}`]);
    for (const k of kernels)
      for (const f of k.files) expect(f).toMatch(new RegExp(`_?${k.variant}$`));
    const classes = first.choices.length;
    // The step's attention (s2 at N / 4, 8 heads over 4 of 8): every variant that runs here
    // checked and timed, the fastest chosen, and the step's families name it.
    expect(first.attention).toMatchObject({ family: 'attention', T: 128, H: 8, KV: 4, hd: 8 });
    expect(first.attention).toMatchObject({ pattern: 's2', group: 32, source: 'timed' });
    expect(first.attention.timings[first.attention.choice]).toBeGreaterThan(0);
    expect(kernels.find((k) => k.family === 'attention')?.variant).toBe(first.attention.choice);
    const file = JSON.parse(readFileSync(first.cache, 'utf8'));
    expect(Object.keys(file).length).toBe(classes + 1);
    for (const c of [...first.choices, first.attention]) expect(file[c.key]).toBe(c.choice);

    const second = JSON.parse(
      (await run('tune', '--model', DEMO_DIR, '--context', '128', '--json')).stdout,
    );
    expect(second.choices.map((c: { source: string }) => c.source)).toEqual(
      first.choices.map(() => 'store'),
    );
    expect(second.choices.map((c: { choice: string }) => c.choice)).toEqual(
      first.choices.map((c: { choice: string }) => c.choice),
    );
    expect(second.attention).toMatchObject({ choice: first.attention.choice, source: 'store' });
    // The table form names each shape, its variant and where the choice came from.
    const table = (await run('tune', '--model', DEMO_DIR, '--context', '128')).stdout;
    expect(table).toMatch(/forward f32 128×64×64\s+\w+\s+store\s+q_proj, o_proj/);
    expect(table).toMatch(new RegExp(`${classes} shape classes, 0 timed now`));
    const attention = kernels.find((k) => k.family === 'attention')!;
    expect(table).toMatch(new RegExp(`\\nattention\\s+${attention.variant} \\(tuned: attention`));
    expect(table).toMatch(
      new RegExp(
        `\\nattention s2 G 32 128 tokens, 8/4 heads of 8: ${attention.variant} \\(store\\)`,
      ),
    );
  });

  it('train tunes on first use only; a corrupt cache file is replaced', async () => {
    const data = assetPath('tinystories-197k.txt');
    const trainArgs = (out: string) => [
      'train',
      '--model',
      DEMO_DIR,
      '--data',
      data,
      '--out',
      out,
      '--context',
      '128',
      '--steps',
      '1',
      '--eval-every',
      '0',
      '--checkpoint-every',
      '0',
      '--holdout-blocks',
      '1',
    ];
    const train = (out: string) => run(...trainArgs(out));
    const a = await train(mkdtempSync(join(tmpdir(), 'longlora-tune-train-')));
    // The 14 layer classes and the output layer's: one on a CPU adapter (whose bounded pass keeps
    // attention's rule); two and the attention on a GPU.
    const n = Number(/tuning kernels for this GPU \((\d+) shape classes\)/.exec(a.stderr)?.[1]);
    expect(n === 15 || n === 17, a.stderr).toBe(true);
    expect(a.stderr).toMatch(new RegExp(`tuned ${n} of ${n} kernel shape classes`));
    const b = await train(mkdtempSync(join(tmpdir(), 'longlora-tune-train-')));
    expect(b.stderr).not.toMatch(/tuning kernels/);
    // A cache file that does not parse is treated as empty and rewritten.
    writeFileSync(join(cacheDir, 'autotune.json'), '{"trunc');
    const c = await train(mkdtempSync(join(tmpdir(), 'longlora-tune-train-')));
    expect(c.stderr).toMatch(new RegExp(`tuned ${n} of ${n}`));
    expect(
      Object.keys(JSON.parse(readFileSync(join(cacheDir, 'autotune.json'), 'utf8'))).length,
    ).toBe(n);
    // --no-tune skips it: with an empty cache folder, nothing is timed or written.
    const empty = mkdtempSync(join(tmpdir(), 'longlora-tune-empty-'));
    vi.stubEnv('LONGLORA_CACHE_DIR', empty);
    const d = await run(
      ...trainArgs(mkdtempSync(join(tmpdir(), 'longlora-tune-train-'))),
      '--no-tune',
    );
    expect(d.stderr).not.toMatch(/tun(ing|ed)/);
    expect(existsSync(join(empty, 'autotune.json'))).toBe(false);
  });
});
