/**
 * `--base-quant none|q8_0|q4_k` (issue 26 item 3): every command that loads or plans the model on
 * the GPU takes it, refuses anything else with exit 2 naming the flag and the choices before it
 * reads the model, and plans the base weights in the types it gives them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { quantWeightBytes } from '../engine/kernels/quant-layout.ts';
import { defaultLora } from '../model/longlora.ts';
import { planTraining } from '../model/plan.ts';
import { cliDefaults } from '../train/settings.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { realModelConfig } from '../test/real-shapes.ts';
import { baseQuantArg, planInputFor, planProblems, settingsFromArgs } from './common.ts';
import { main } from './main.ts';

async function run(...argv: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const code = await main(argv);
  return { code, stderr: errors.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

const REFUSAL = '--base-quant must be none or q8_0 or q4_k (got q6_k)';

describe('--base-quant', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-base-quant-'));
  const text = join(dir, 'data.txt');
  writeFileSync(text, 'Once upon a time there was a little dog. '.repeat(50));
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify([1, 2, 3, 4]));

  it.each([
    ['info', '--model', DEMO_DIR],
    ['generate', '--model', DEMO_DIR],
    ['eval', '--model', DEMO_DIR, '--data', text, '--context', '64'],
    ['grad', '--model', DEMO_DIR, '--tokens', tokens, '--out', join(dir, 'g.safetensors')],
    ['train', '--model', DEMO_DIR, '--data', text, '--out', join(dir, 'run')],
  ])('%s refuses a type it does not quantize to, exit 2, naming the choices', async (...argv) => {
    const r = await run(...argv, '--base-quant', 'q6_k');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(REFUSAL);
  });

  it('is a run setting: the key baseQuant, the flag its kebab-case, none by default', () => {
    const d = cliDefaults(512);
    expect(d.baseQuant).toBe('none');
    expect(settingsFromArgs({}, d).baseQuant).toBe('none');
    expect(settingsFromArgs({ 'base-quant': 'q4_k' }, d).baseQuant).toBe('q4_k');
    expect(settingsFromArgs({}, { ...d, baseQuant: 'q8_0' }).baseQuant).toBe('q8_0');
    expect(baseQuantArg({ 'base-quant': 'q8_0' })).toBe('q8_0');
    expect(() => baseQuantArg({ 'base-quant': 'Q4_K' })).toThrow(
      '--base-quant must be none or q8_0 or q4_k (got Q4_K)',
    );
  });

  it('plans a config without weights (info on a config.json alone) in its dtype, quantized as asked', () => {
    const config = realModelConfig('llama-2-7b');
    const m = { config, dtypes: ['BF16' as const], tensors: [] };
    const opts = { checkpointing: true, optimizerState: true };
    const plan = (baseQuant: 'none' | 'q8_0' | 'q4_k') =>
      planTraining(planInputFor(m, defaultLora(), 8192, { ...opts, baseQuant }));
    expect(plan('none').baseTypes).toEqual([{ type: 'bf16', bytes: plan('none').bytes.weights }]);
    const q4 = plan('q4_k');
    // Every projection and the untied output layer Q4_K (the embedding is trained, f32, under LoRA+).
    const perLayer =
      4 * quantWeightBytes('Q4_K', 4096, 4096) + 3 * quantWeightBytes('Q4_K', 11008, 4096);
    expect(q4.baseTypes).toEqual([
      {
        type: 'Q4_K',
        bytes: 32 * perLayer + quantWeightBytes('Q4_K', config.vocabSize, 4096),
      },
    ]);
    expect(plan('q8_0').baseTypes.map((t) => t.type)).toEqual(['Q8_0']);
  });

  it('is suggested when a plan over the budget has its base weights in a float dtype', () => {
    const m = { config: realModelConfig('llama-2-7b'), dtypes: ['BF16' as const], tensors: [] };
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };
    const refusal = (baseQuant: 'none' | 'q4_k') => {
      const input = planInputFor(m, defaultLora(), 8192, {
        checkpointing: true,
        optimizerState: true,
        baseQuant,
      });
      const run = { plan: input, pattern: 's2' as const, group: 2048, needsTrainables: true };
      return planProblems(run, planTraining({ ...input, limits }), limits, 8 * 2 ** 30, true);
    };
    expect(refusal('none').join(' ')).toContain(
      'or use --trainable none, or quantize the base weights with --base-quant q4_k, or keep ' +
        'checkpoints in host memory with --offload checkpoints; or, if',
    );
    const q4 = refusal('q4_k').join(' ');
    expect(q4).toMatch(/It needs about 8\.\d+ GiB/);
    expect(q4).not.toContain('--base-quant');
  });
});
