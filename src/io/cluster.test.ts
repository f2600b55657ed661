/**
 * cluster/ and the adapter README against the argument names read from the official LongLoRA
 * repository (longlora-official-args.json, written by scripts/extract-longlora-args.mjs from commit
 * d4eb344): every flag run.sh and the README commands pass is one the scripts define or the
 * official README passes to Hugging Face's TrainingArguments; the data files decode to the run's data.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.ts';
import { tinyConfigJson, TINY_MODELS } from '../test/fixtures.ts';
import { buildClusterFiles, OFFICIAL_COMMIT, type ClusterRun } from './cluster.ts';
import { parseHfConfig } from './config.ts';
import official from './longlora-official-args.json' with { type: 'json' };
import { buildAdapterFiles } from './peft.ts';

const RUN: ClusterRun = {
  baseModel: 'org/tiny',
  context: 256,
  attention: 's2',
  trainable: ['embed', 'norm'],
  lr: 2e-5,
  warmup: 20,
  schedule: 'constant',
  steps: 1000,
  gradAccum: 8,
  weightDecay: 0,
};

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** The script and the --flags of the command in `sh` that runs `script`. */
function command(sh: string, script: RegExp): { script: string; flags: Map<string, string> } {
  const joined = sh.replace(/\\\n/g, ' ');
  const line = joined.split('\n').find((l) => script.test(l));
  expect(line, `a command running ${String(script)}`).toBeDefined();
  const flags = new Map<string, string>();
  for (const m of line!.matchAll(/--([a-z_0-9]+)(?:[ =]("[^"]*"|\S+))?/g))
    flags.set(m[1]!, m[2] ?? '');
  return { script: script.exec(line!)![0], flags };
}

function allowed(script: string): Set<string> {
  const scripts = official.scripts as Record<string, string[]>;
  const own = scripts[script];
  expect(own, script).toBeDefined();
  // The training scripts extend Hugging Face's TrainingArguments; the README's commands name which.
  const training = script.endsWith('fine-tune.py') ? official.trainingFlagsInReadme : [];
  return new Set([...own!, ...training]);
}

describe('cluster/ for the official LongLoRA scripts', () => {
  it('the argument list names its source commit and the transformers version it pins', () => {
    expect(official.commit).toBe('d4eb344c5ccc9e91c0812a2b2aeea69070df8c33');
    expect(OFFICIAL_COMMIT).toBe(official.commit);
    expect(official.transformers).toBe('4.34.0');
    expect(official.scripts['fine-tune.py']).toContain('trainable_params');
    expect(official.trainingFlagsInReadme).toContain('deepspeed');
  });

  it('plain text: token ids of every training block and fine-tune.py run with the run settings', () => {
    const rng = new Rng(2);
    const blocks = [0, 1, 2].map(() => Uint32Array.from({ length: 256 }, () => rng.int(32000)));
    const files = buildClusterFiles(RUN, { kind: 'tokens', blocks });
    expect(Object.keys(files).sort()).toEqual([
      'cluster/README.md',
      'cluster/run.sh',
      'cluster/train_tokens.bin',
      'cluster/use_local_tokens.py',
    ]);
    const bin = files['cluster/train_tokens.bin']!;
    const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
    expect(bin.byteLength).toBe(3 * 256 * 4);
    blocks.forEach((b, i) =>
      b.forEach((id, t) => expect(dv.getUint32((i * 256 + t) * 4, true)).toBe(id)),
    );
    const sh = text(files['cluster/run.sh']);
    const { flags } = command(sh, /fine-tune-local\.py/);
    // fine-tune-local.py is fine-tune.py with its data lines replaced: its flags are fine-tune.py's.
    const ok = allowed('fine-tune.py');
    // --nproc_per_node is torchrun's own.
    for (const f of flags.keys()) expect(ok.has(f) || f === 'nproc_per_node', `--${f}`).toBe(true);
    expect(Object.fromEntries(flags)).toMatchObject({
      nproc_per_node: '"$NPROC"',
      model_max_length: '256',
      use_flash_attn: 'True',
      low_rank_training: 'True',
      trainable_params: 'embed,norm',
      learning_rate: '0.00002',
      warmup_steps: '20',
      max_steps: '1000',
      gradient_accumulation_steps: '8',
      lr_scheduler_type: '"constant_with_warmup"',
      deepspeed: '"ds_configs/stage2.json"',
    });
    expect(flags.has('use_full_attn')).toBe(false);
    expect(sh).toMatch(/python "\$HERE\/use_local_tokens\.py" "\$HERE\/train_tokens\.bin"/);
    const py = text(files['cluster/use_local_tokens.py']);
    expect(py).toContain(
      'dataset = load_dataset("togethercomputer/RedPajama-Data-1T-Sample", cache_dir=training_args.cache_dir)',
    );
    expect(text(files['cluster/README.md'])).toMatch(/npx longlora merge --model BASE/);
  });

  it('instruction data: LongAlpaca JSON and supervised-fine-tune.py; full attention; LoRA only', () => {
    const records = [
      { instruction: 'Summarize.', input: 'A long text.', output: 'Short.' },
      { instruction: 'Say hi.', output: 'Hi.' },
    ];
    const files = buildClusterFiles(
      { ...RUN, attention: 'full', trainable: [], schedule: 'cosine' },
      { kind: 'records', records },
    );
    expect(JSON.parse(text(files['cluster/train.json']))).toEqual([
      records[0],
      { ...records[1], input: '' },
    ]);
    const { flags } = command(text(files['cluster/run.sh']), /supervised-fine-tune\.py/);
    const ok = allowed('supervised-fine-tune.py');
    for (const f of flags.keys()) expect(ok.has(f) || f === 'nproc_per_node', `--${f}`).toBe(true);
    expect(flags.get('data_path')).toBe('"$HERE/train.json"');
    expect(flags.get('use_full_attn')).toBe('True');
    // "lora_" matches only the LoRA weights: nothing else becomes trainable ("" would match all).
    expect(flags.get('trainable_params')).toBe('lora_');
    expect(flags.get('lr_scheduler_type')).toBe('"cosine"');
  });

  it("the adapter README's official merge, eval and passkey commands use the scripts' own flags", () => {
    const configJson = tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!);
    const files = buildAdapterFiles({
      config: parseHfConfig(configJson),
      baseModel: 'org/tiny',
      r: 8,
      alpha: 16,
      targets: ['q_proj', 'v_proj'],
      lora: [],
      trained: [],
      ropeFactor: 4,
      ropeScaling: { type: 'linear', factor: 4 },
      contextLength: 256,
    });
    const readme = text(files['README.md']);
    for (const script of [
      'merge_lora_weights_and_save_hf_model.py',
      'eval.py',
      'passkey_retrivial.py',
    ]) {
      const { flags } = command(readme, new RegExp(`python ${script.replace('.', '\\.')}`));
      const ok = allowed(script);
      expect(flags.size).toBeGreaterThan(0);
      for (const f of flags.keys()) expect(ok.has(f), `${script} --${f}`).toBe(true);
      expect(flags.get('context_size')).toBe('256');
    }
    const { flags } = command(readme, /torchrun .*fine-tune\.py/);
    const ok = allowed('fine-tune.py');
    for (const f of flags.keys()) expect(ok.has(f) || f === 'nproc_per_node', `--${f}`).toBe(true);
  });
});
