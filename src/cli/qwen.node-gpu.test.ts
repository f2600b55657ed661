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
import { assetPath } from '../test/assets-node.ts';
import { qwenStyleTokenizerFiles } from '../test/bpe-train.ts';

const run = cliRunner();
/** `longlora train` of the model folder `dir` on `data`, the adapter written to `out`. */
const train = (dir: string, data: string, out: string, ...flags: string[]) =>
  run('train', '--model', dir, '--data', data, '--out', out, ...flags);

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

/**
 * Qwen's tokenizer as these models ship it: byte-level BPE (learned here from the demo text) with no
 * BOS (`bos_token: null`) and a ChatML chat template.
 */
const QWEN_TOKENIZER = qwenStyleTokenizerFiles(
  readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 40_000),
);

describe('longlora train on tiny Qwen2 and Qwen3 folders (a tokenizer without BOS)', () => {
  const rng = new Rng(3);
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far'];
  const text = Array.from({ length: 1500 }, () => words[rng.int(words.length)]).join(' ');

  for (const [name, arch] of [
    ['tiny-qwen2-f32', 'Qwen2ForCausalLM'],
    ['tiny-qwen3-bf16-tied', 'Qwen3ForCausalLM'],
  ] as const) {
    it(`${name}: trains, evaluates and generates without a BOS, and the adapter keeps ${arch}`, async () => {
      const dir = folder(tinyHfFolder({ ...TINY_MODELS[name]!, tokenizer: QWEN_TOKENIZER }));
      const data = join(dir, 'data.txt');
      writeFileSync(data, text);
      const out = join(dir, 'adapter');
      const log = await train(
        dir,
        data,
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

      // No BOS is invented: eval scores every token after the first of each window (context only).
      const ev = JSON.parse(
        await run(
          'eval',
          '--model',
          dir,
          '--adapter',
          out,
          '--data',
          data,
          '--context',
          '32',
          '--max-windows',
          '2',
          '--json',
        ),
      ) as { ppl: number; tokens: number };
      expect(ev.tokens).toBe(2 * 31);
      expect(Number.isFinite(ev.ppl)).toBe(true);
      // Generation starts from the prompt's own tokens; without a prompt there is nothing to start from.
      const gen = JSON.parse(
        await run(
          'generate',
          '--model',
          dir,
          '--adapter',
          out,
          '--prompt',
          'the cat sat',
          '--max-new-tokens',
          '4',
          '--temperature',
          '0',
          '--json',
        ),
      ) as { ids: number[]; text: string };
      expect(gen.ids.length).toBeGreaterThan(0);
      expect(gen.ids.length).toBeLessThanOrEqual(4);
      await expect(
        run('generate', '--model', dir, '--adapter', out, '--max-new-tokens', '4'),
      ).rejects.toThrow(/exited 2/);
    }, 900_000);
  }
});

describe('longlora train --init-adapter on Qwen3 (q/k norms trained as norms)', () => {
  it('continues from a Qwen3 adapter that trained q_norm / k_norm', async () => {
    const dir = folder(
      tinyHfFolder({ ...TINY_MODELS['tiny-qwen3-bf16-tied']!, tokenizer: QWEN_TOKENIZER }),
    );
    const data = join(dir, 'data.txt');
    writeFileSync(data, 'the cat sat on a mat and the dog ran far. '.repeat(60));
    const flags = ['--context', '32', '--steps', '1', '--lr', '1e-2', '--warmup', '1'];
    const first = join(dir, 'first');
    await train(dir, data, first, ...flags);
    const tensors = async (out: string) => {
      const bytes = readFileSync(join(out, 'adapter_model.safetensors'));
      return (await readSafetensorsHeader(bytesSource('adapter', bytes))).tensors.map(
        (t) => t.name,
      );
    };
    const kNorm = 'base_model.model.model.layers.0.self_attn.k_norm.weight';
    expect(await tensors(first)).toContain(kNorm);
    const second = join(dir, 'second');
    await train(dir, data, second, ...flags, '--init-adapter', first);
    expect(await tensors(second)).toContain(kNorm);
  }, 900_000);
});

describe('longlora train on instruction records (--chat-template)', () => {
  const records = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({
      instruction: `Say the number ${i} in words.`,
      input: i % 2 ? 'Be brief.' : '',
      output: `The number is ${i}. Once upon a time there was a cat.`,
    }),
  ).join('\n');
  const trainLog = async (...extra: string[]) => {
    const dir = folder(
      tinyHfFolder({ ...TINY_MODELS['tiny-qwen2-f32']!, tokenizer: QWEN_TOKENIZER }),
    );
    const data = join(dir, 'alpaca.jsonl');
    writeFileSync(data, records);
    const out = await train(
      dir,
      data,
      join(dir, 'adapter'),
      '--context',
      '64',
      '--steps',
      '1',
      '--warmup',
      '1',
      '--eval-windows',
      '1',
      ...extra,
    );
    return `${run.stderr()}\n${out}`;
  };

  it("renders them in the model's chat template by default, the prompt out of the loss", async () => {
    const log = await trainLog();
    expect(log).toMatch(
      /prompts in the model's chat template; the first record, its prompt \(\d+ tokens\) between ⟦ ⟧ not in the loss, its answer \(\d+ tokens\) learned:/,
    );
    // The masked part is the ChatML conversation up to the assistant's turn; the answer is the output.
    expect(log).toContain(
      '⟦<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nSay the number 0 in words.<|im_end|>\n<|im_start|>assistant\n⟧The number is 0.',
    );
    expect(log).toMatch(/step 1\/1 loss \d/);
  }, 900_000);

  it('--chat-template none keeps the [INST] format; another value is refused', async () => {
    const log = await trainLog('--chat-template', 'none');
    expect(log).toContain('prompts in [INST]…[/INST] (--chat-template none)');
    expect(log).toContain('⟦[INST]Say the number 0 in words.[/INST]⟧The number is 0.');
    await expect(trainLog('--chat-template', 'chatml')).rejects.toThrow(/exited 2/);
  }, 900_000);
});
