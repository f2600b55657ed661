import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { bytesSource } from '../io/source.ts';
import { tinyLlama11BConfigJson } from '../test/fixtures.ts';
import { main } from './main.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STORIES = join(ROOT, '..', 'shared', 'assets', 'stories260K');
const TEXT = join(ROOT, '..', 'shared', 'assets', 'text', 'tinystories-197k.txt');

let out: string[] = [];
beforeEach(() => {
  out = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

async function run(...argv: string[]): Promise<string> {
  out = [];
  const code = await main(argv);
  if (code !== 0) throw new Error(`longlora ${argv.join(' ')} exited ${code}`);
  return out.join('\n');
}

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
      'trainable_params.safetensors',
      'config.json',
      'README.md',
    ]) {
      expect(existsSync(join(adapter, f))).toBe(true);
    }
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
