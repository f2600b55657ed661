import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { bytesSource } from '../io/source.ts';
import { assetPath, DEMO_DIR } from '../test/assets-node.ts';
import { LlamaParams } from '../model/params.ts';
import { cliRunner } from '../test/cli.ts';
import { tinyLlama11BConfigJson } from '../test/fixtures.ts';
import { gpu } from './common.ts';
import { main } from './main.ts';

const STORIES = DEMO_DIR;
const TEXT = assetPath('tinystories-197k.txt');

const run = cliRunner();

describe('longlora CLI on stories260K', () => {
  it('generate: fluent greedy text, identical from safetensors and GGUF', async () => {
    const a = JSON.parse(
      await run(
        'generate',
        '--model',
        STORIES,
        '--max-new-tokens',
        '24',
        '--temperature',
        '0',
        '--json',
      ),
    );
    const b = JSON.parse(
      await run(
        'generate',
        '--model',
        join(STORIES, 'stories260K.gguf'),
        '--max-new-tokens',
        '24',
        '--temperature',
        '0',
        '--json',
      ),
    );
    expect(a.text).toMatch(/^Once upon a time, there was a little girl named Lily\./);
    expect(b.ids).toEqual(a.ids);
  });

  it('eval: perplexity near the model quality at 512, same for GGUF and safetensors', async () => {
    const a = JSON.parse(
      await run(
        'eval',
        '--model',
        STORIES,
        '--data',
        TEXT,
        '--context',
        '512',
        '--max-windows',
        '2',
        '--json',
      ),
    );
    const b = JSON.parse(
      await run(
        'eval',
        '--model',
        join(STORIES, 'stories260K.gguf'),
        '--data',
        TEXT,
        '--context',
        '512',
        '--max-windows',
        '2',
        '--json',
      ),
    );
    expect(a.windows).toBe(2);
    expect(a.ppl).toBeGreaterThan(3);
    expect(a.ppl).toBeLessThan(6);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
  });

  it('grad writes the loss and every trainable gradient under adapter names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-grad-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 37 + 1) % 512)));
    const file = join(dir, 'g.safetensors');
    await run(
      'grad',
      '--model',
      STORIES,
      '--tokens',
      tokens,
      '--context',
      '64',
      '--attention',
      's2',
      '--out',
      file,
    );
    const h = await readSafetensorsHeader(bytesSource('g', new Uint8Array(readFileSync(file))));
    const names = h.tensors.map((t) => t.name);
    expect(names).toContain('loss');
    expect(names).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(names).toContain('base_model.model.model.layers.4.self_attn.o_proj.lora_B.weight');
    expect(names).toContain('base_model.model.model.embed_tokens.weight');
    expect(names).toContain('base_model.model.model.norm.weight');
    expect(names).toContain('base_model.model.model.layers.2.post_attention_layernorm.weight');
    const a = h.tensors.find((t) => t.name.endsWith('q_proj.lora_A.weight'))!;
    expect(a.shape).toEqual([8, 64]);
    expect(a.dtype).toBe('F32');
  });

  it('train → adapter → eval --adapter, and the merged model gives the same perplexity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-train-'));
    const data = join(dir, 'data.txt');
    writeFileSync(data, readFileSync(TEXT, 'utf8').slice(0, 12000));
    const adapter = join(dir, 'adapter');
    const log = await run(
      'train',
      '--model',
      STORIES,
      '--data',
      data,
      '--out',
      adapter,
      '--context',
      '128',
      '--steps',
      '4',
      '--lr',
      '2e-3',
      '--warmup',
      '1',
      '--checkpoint-every',
      '2',
      '--eval-windows',
      '1',
    );
    expect(log).toMatch(/step 4\/4 loss/);
    for (const f of [
      'adapter_config.json',
      'adapter_model.safetensors',
      'trainable_params.bin',
      'trainable_params.safetensors',
      'config.json',
      'README.md',
      'cluster/run.sh',
    ]) {
      expect(existsSync(join(adapter, f)), f).toBe(true);
    }
    // cluster/run.sh carries this run's settings.
    const runSh = readFileSync(join(adapter, 'cluster/run.sh'), 'utf8');
    expect(runSh).toMatch(/--model_max_length 128\b/);
    expect(runSh).toMatch(/--learning_rate 0\.002\b/);
    const base = JSON.parse(
      await run(
        'eval',
        '--model',
        STORIES,
        '--data',
        data,
        '--context',
        '128',
        '--max-windows',
        '3',
        '--json',
      ),
    );
    const tuned = JSON.parse(
      await run(
        'eval',
        '--model',
        STORIES,
        '--adapter',
        adapter,
        '--data',
        data,
        '--context',
        '128',
        '--max-windows',
        '3',
        '--json',
      ),
    );
    expect(tuned.loss).not.toBe(base.loss);
    const merged = join(dir, 'merged');
    await run('merge', '--model', STORIES, '--adapter', adapter, '--out', merged);
    const m = JSON.parse(
      await run(
        'eval',
        '--model',
        merged,
        '--data',
        data,
        '--context',
        '128',
        '--max-windows',
        '3',
        '--json',
      ),
    );
    expect(Math.abs(m.loss - tuned.loss) / tuned.loss).toBeLessThan(1e-4);
  });

  it('info plans TinyLlama-1.1B at 8192 within 8 GB, and reports bad files clearly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-info-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyLlama11BConfigJson()));
    const plan = JSON.parse(await run('info', '--model', dir, '--context', '8192', '--json'));
    expect(plan.parameters).toBe(1_100_048_384);
    expect(plan.ropeFactor).toBe(4);
    expect(plan.fits).toBe(true);
    expect(plan.plan.total).toBeLessThan(8e9);
    expect(plan.plan.weights).toBeGreaterThan(2e9); // bf16 base weights stay 16-bit
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, new Uint8Array([1, 2, 3]));
    expect(await main(['info', '--model', bad])).toBe(1);
    expect(await main(['frobnicate'])).toBe(2);
  });
});

describe('longlora memory plans: --trainable, --budget in GiB, refusals before allocation', () => {
  const DEMO = STORIES;
  const tinyLlamaDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-plan-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyLlama11BConfigJson()));
    return dir;
  };
  /** Runs a command that must fail; returns its exit code and what it printed to stderr. */
  async function refused(...argv: string[]): Promise<{ code: number; message: string }> {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation(
      (...a: unknown[]) => void errors.push(a.join(' ')),
    );
    const code = await main(argv);
    return { code, message: errors.join('\n') };
  }

  it('info --trainable none (frozen embeddings and norms) plans less than LoRA+', async () => {
    const dir = tinyLlamaDir();
    const args = ['info', '--model', dir, '--context', '8192', '--json'];
    const plus = JSON.parse(await run(...args));
    const frozen = JSON.parse(await run(...args, '--trainable', 'none'));
    expect(frozen.lora).toMatchObject({ trainEmbed: false, trainNorm: false, rank: 8 });
    // TinyLlama: 32000 × 2048 embedding; LoRA r8 on q,k,v,o over 22 layers.
    const loraCount = 22 * 8 * (2 * (2048 + 2048) + 2 * (2048 + 256));
    expect(frozen.trainableParameters).toBe(loraCount);
    expect(plus.trainableParameters).toBe(loraCount + 32000 * 2048 + 2048 * 45);
    expect(frozen.plan.total).toBeLessThan(plus.plan.total);
    // The frozen embedding stays bf16 (2 bytes) and loses its f32 gradient and AdamW moments.
    expect(plus.plan.total - frozen.plan.total).toBeGreaterThan(32000 * 2048 * (4 + 4 + 8 - 2));
    expect(frozen.plan.optimizer).toBe(8 * loraCount);
    // --rank, --targets and --attention reach the plan too.
    const wide = JSON.parse(
      await run(...args, '--trainable', 'none', '--rank', '16', '--targets', 'q_proj,v_proj'),
    );
    expect(wide.trainableParameters).toBe(22 * 16 * (2048 + 2048 + 2048 + 256));
    const full = JSON.parse(await run(...args, '--attention', 'full'));
    expect(full).toMatchObject({ attention: 'full', group: 8192 });
    const text = await run('info', '--model', dir, '--context', '8192', '--trainable', 'none');
    expect(text).toMatch(/LoRA r8 on q,k,v,o, embeddings and norms frozen/);
  });

  it('info --budget 1GiB: does not fit, and says so in GiB', async () => {
    const dir = tinyLlamaDir();
    const plan = JSON.parse(
      await run('info', '--model', dir, '--context', '8192', '--budget', '1GiB', '--json'),
    );
    expect(plan.budgetBytes).toBe(2 ** 30);
    expect(plan.budgetGiB).toBe(1);
    expect(plan.fits).toBe(false);
    expect(plan.problem).toMatch(
      /needs about \d+\.\d\d GiB of GPU memory; the budget is 1\.00 GiB\./,
    );
    expect(plan.problem).toMatch(/--trainable none/);
    const text = await run('info', '--model', dir, '--context', '8192', '--budget', '1GiB');
    expect(text).toMatch(/Does not fit 1\.00 GiB: /);
    const roomy = JSON.parse(
      await run('info', '--model', dir, '--context', '8192', '--budget', '24', '--json'),
    );
    expect(roomy).toMatchObject({ fits: true, budgetGiB: 24, budgetBytes: 24 * 2 ** 30 });
    expect((await refused('info', '--model', dir, '--budget', '8GB')).code).toBe(2);
  });

  it('grad and train refuse a plan over --budget before allocating anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-refuse-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 7 + 3) % 512)));
    const load = vi.spyOn(LlamaParams, 'load');
    const grad = await refused(
      'grad',
      ...['--model', DEMO, '--tokens', tokens, '--context', '64', '--budget', '0.1MiB'],
      ...['--out', join(dir, 'g.safetensors')],
    );
    expect(grad.code).toBe(2);
    expect(grad.message).toMatch(/grad at 64 tokens cannot run here/);
    expect(grad.message).toMatch(/the budget is 102 KiB\. Lower --context or --rank/);
    expect(grad.message).toMatch(/--budget/);
    // Train is refused before its data is even read (this file does not exist).
    const train = await refused(
      'train',
      ...['--model', DEMO, '--data', join(dir, 'missing.txt'), '--out', join(dir, 'run')],
      ...['--context', '64', '--budget', '1MiB'],
    );
    expect(train.code).toBe(2);
    expect(train.message).toMatch(/train at 64 tokens cannot run here .*[KMG]iB/);
    expect(load).not.toHaveBeenCalled();
    expect(existsSync(join(dir, 'g.safetensors'))).toBe(false);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('grad allocates no optimizer state: its peak per category is the plan without AdamW moments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-grad-plan-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 5 + 1) % 512)));
    const training = JSON.parse(
      await run('info', '--model', DEMO, '--context', '64', '--attention', 's2', '--json'),
    ).plan;
    const rt = await gpu();
    const before = rt.memory.snapshot().current;
    rt.memory.resetPeak();
    const load = vi.spyOn(LlamaParams, 'load');
    await run(
      'grad',
      ...['--model', DEMO, '--tokens', tokens, '--context', '64', '--budget', '1GiB'],
      ...['--out', join(dir, 'g.safetensors')],
    );
    expect(load).toHaveBeenCalledTimes(1);
    expect(load.mock.calls[0]![6]).toEqual({ optimizerState: false, baseQuant: 'none' });
    const peak = rt.memory.snapshot().peak;
    expect(training.optimizer).toBeGreaterThan(0);
    expect(peak.optimizer - before.optimizer).toBe(0);
    for (const c of ['weights', 'lora', 'gradients', 'activations'] as const)
      expect(peak[c] - before[c], c).toBe(training[c]);
  });
});
