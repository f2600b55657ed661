/**
 * The CLI on the Qwen architectures (src/io/arch.ts): `info` plans Qwen2.5-0.5B and Qwen3-0.6B from
 * their public config.json alone, and `train` runs on tiny random Qwen2 (q/k/v biases) and Qwen3
 * (q/k norms, head_dim ≠ hidden / heads) folders, exporting an adapter whose config.json keeps the
 * architecture and whose PEFT files hold what PEFT loads (Qwen3's q_norm / k_norm under the
 * `norm` modules_to_save entry, as for the other norms).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { bytesSource } from '../io/source.ts';
import { cliRunner } from '../test/cli.ts';
import {
  qwen25_05BConfigJson,
  qwen3_06BConfigJson,
  tinyHfFolder,
  TINY_MODELS,
} from '../test/fixtures.ts';
import { Rng } from '../util/rng.ts';

const run = cliRunner();

function folder(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-qwen-'));
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

describe('longlora info on Qwen config-only folders', () => {
  it('plans Qwen2.5-0.5B (biases, tied) at 65536 tokens: rope ×2, its parameter count', async () => {
    const dir = folder({ 'config.json': JSON.stringify(qwen25_05BConfigJson()) });
    const plan = JSON.parse(await run('info', '--model', dir, '--context', '65536', '--json'));
    expect(plan.architecture).toBe('Qwen2ForCausalLM');
    expect(plan.parameters).toBe(494_032_768);
    expect(plan.ropeFactor).toBe(2);
    expect(plan.config.biases).toEqual(['q_proj', 'k_proj', 'v_proj']);
  });

  it('plans Qwen3-0.6B (q/k norms, head_dim 128) at 8192 tokens within 8 GiB', async () => {
    const dir = folder({ 'config.json': JSON.stringify(qwen3_06BConfigJson()) });
    const plan = JSON.parse(await run('info', '--model', dir, '--context', '8192', '--json'));
    expect(plan.architecture).toBe('Qwen3ForCausalLM');
    expect(plan.parameters).toBe(596_049_920);
    expect(plan.ropeFactor).toBe(1);
    expect(plan.fits).toBe(true);
    expect(plan.config).toMatchObject({ qkNorm: true, headDim: 128 });
  });
});

describe('longlora train on tiny Qwen2 and Qwen3 folders', () => {
  const rng = new Rng(3);
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far'];
  const text = Array.from({ length: 1500 }, () => words[rng.int(words.length)]).join(' ');

  for (const [name, arch] of [
    ['tiny-qwen2-f32', 'Qwen2ForCausalLM'],
    ['tiny-qwen3-bf16-tied', 'Qwen3ForCausalLM'],
  ] as const) {
    it(`${name}: trains, and the adapter keeps ${arch}`, async () => {
      const dir = folder(tinyHfFolder(TINY_MODELS[name]!));
      const data = join(dir, 'data.txt');
      writeFileSync(data, text);
      const out = join(dir, 'adapter');
      const log = await run(
        'train',
        '--model',
        dir,
        '--data',
        data,
        '--out',
        out,
        '--context',
        '32',
        '--steps',
        '2',
        '--lr',
        '1e-2',
        '--warmup',
        '1',
        '--eval-windows',
        '1',
      );
      expect(log).toMatch(/step 2\/2 loss \d/);
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(config.architectures).toEqual([arch]);
      expect(config.model_type).toBe(arch === 'Qwen2ForCausalLM' ? 'qwen2' : 'qwen3');
      expect(config.use_sliding_window).toBe(false);
      const peft = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
      expect(peft.target_modules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
      // PEFT matches modules_to_save by name suffix: "norm" covers q_norm / k_norm too.
      expect(peft.modules_to_save).toEqual(['embed_tokens', 'norm']);
      const bytes = readFileSync(join(out, 'adapter_model.safetensors'));
      const names = (await readSafetensorsHeader(bytesSource('adapter', bytes))).tensors.map(
        (t) => t.name,
      );
      const qNorm = 'base_model.model.model.layers.1.self_attn.q_norm.weight';
      expect(names.includes(qNorm)).toBe(arch === 'Qwen3ForCausalLM');
      // Biases are frozen: never exported.
      expect(names.some((n) => n.endsWith('.bias'))).toBe(false);
    }, 900_000);
  }
});
