/**
 * The export's cluster/ folder: a run's data in the official LongLoRA scripts' format and a run.sh
 * that continues the run with `torchrun … fine-tune.py` (plain text, as token ids) or
 * `supervised-fine-tune.py` (instruction records, as LongAlpaca JSON) on a GPU cluster. Every flag
 * run.sh passes is one the official scripts define or their README passes to Hugging Face's
 * TrainingArguments (src/io/longlora-official-args.json, extracted from the official repository by
 * scripts/extract-longlora-args.mjs; a test checks run.sh against it).
 */
import official from './longlora-official-args.json' with { type: 'json' };
import { InternalError } from '../util/errors.ts';

/**
 * The settings of the run to continue: a run's settings (src/train/settings.ts's RunSettings, whose
 * keys these are) and the base model's name.
 */
export interface ClusterRun {
  /** What the README calls the base model (a Hugging Face id or folder name). */
  baseModel: string;
  context: number;
  attention: 'full' | 's2' | 's2roll';
  /** LoRA+'s trainables besides LoRA: embed, norm. */
  trainable: readonly ('embed' | 'norm')[];
  lr: number;
  warmup: number;
  schedule: 'constant' | 'cosine';
  steps: number;
  gradAccum: number;
  weightDecay: number;
}

/** An instruction record (LongAlpaca's fields). */
export interface ClusterRecord {
  instruction: string;
  input?: string;
  output: string;
}

/** The run's training data: instruction records, or the token ids of its training blocks. */
export type ClusterData =
  { kind: 'records'; records: ClusterRecord[] } | { kind: 'tokens'; blocks: Uint32Array[] };

/** The official repository's commit the flags were checked against. */
export const OFFICIAL_COMMIT: string = official.commit;

const TOKENS_FILE = 'train_tokens.bin';
const RECORDS_FILE = 'train.json';

/** --trainable_params for the run: "embed,norm", or a name only LoRA weights contain (nothing more). */
function trainableParams(r: ClusterRun): string {
  const t = r.trainable;
  // fine-tune.py makes every parameter whose name contains one of these trainable; "lora_" matches
  // only the LoRA weights, which are trainable anyway ("" would match every parameter).
  return t.length ? t.join(',') : 'lora_';
}

/** The torchrun command's flags, in order, as [name, value] pairs. */
export function clusterFlags(r: ClusterRun, data: ClusterData['kind']): [string, string][] {
  const flags: [string, string][] = [
    ['model_name_or_path', '"$MODEL"'],
    ['bf16', 'True'],
    ['output_dir', '"$HERE/out"'],
    ['cache_dir', '"$HERE/cache"'],
    ['model_max_length', String(r.context)],
    ['use_flash_attn', 'True'],
  ];
  if (r.attention === 'full') flags.push(['use_full_attn', 'True']);
  if (data === 'records') flags.push(['data_path', `"$HERE/${RECORDS_FILE}"`]);
  flags.push(
    ['low_rank_training', 'True'],
    ['trainable_params', trainableParams(r)],
    ['num_train_epochs', '1'],
    ['max_steps', String(r.steps)],
    ['per_device_train_batch_size', '1'],
    ['per_device_eval_batch_size', '2'],
    ['gradient_accumulation_steps', String(r.gradAccum)],
    ['evaluation_strategy', '"no"'],
    ['save_strategy', '"steps"'],
    ['save_steps', String(Math.max(1, Math.min(1000, r.steps)))],
    ['save_total_limit', '2'],
    ['learning_rate', String(r.lr)],
    ['weight_decay', String(r.weightDecay)],
    ['warmup_steps', String(r.warmup)],
    ['lr_scheduler_type', r.schedule === 'cosine' ? '"cosine"' : '"constant_with_warmup"'],
    ['logging_steps', '1'],
    ['deepspeed', '"ds_configs/stage2.json"'],
    ['tf32', 'True'],
  );
  return flags;
}

/** A Python script that writes fine-tune-local.py: fine-tune.py reading our token ids instead of RedPajama. */
const LOCAL_TOKENS_PY = `"""Writes fine-tune-local.py: the official fine-tune.py with its RedPajama download replaced by
the token ids exported with this run (${TOKENS_FILE}: little-endian uint32, one row of
model_max_length tokens per training block). Run from a checkout of the official repository:
    python use_local_tokens.py /path/to/${TOKENS_FILE}
"""
import sys

tokens = sys.argv[1]
src = open("fine-tune.py").read()
old_load = 'dataset = load_dataset("togethercomputer/RedPajama-Data-1T-Sample", cache_dir=training_args.cache_dir)'
old_map = 'dataset = dataset.map(partial(tokenize_fn,tokenizer),batched=True, num_proc=128, remove_columns=["text", "meta"])'
if old_load not in src or old_map not in src:
    sys.exit("fine-tune.py does not have the expected RedPajama lines; edit it by hand (see README.md)")
new_load = (
    "import numpy as np\\n"
    "    from datasets import Dataset as _Blocks, DatasetDict as _Splits\\n"
    f"    _ids = np.fromfile({tokens!r}, dtype='<u4').astype(np.int64).reshape(-1, training_args.model_max_length)\\n"
    "    dataset = _Splits({'train': _Blocks.from_dict({'input_ids': _ids.tolist()})})"
)
src = src.replace(old_load, new_load).replace(old_map, "")
open("fine-tune-local.py", "w").write(src)
print("wrote fine-tune-local.py")
`;

function runSh(r: ClusterRun, data: ClusterData['kind']): string {
  const script = data === 'records' ? 'supervised-fine-tune.py' : 'fine-tune-local.py';
  const flags = clusterFlags(r, data)
    .map(([k, v]) => `  --${k} ${v}`)
    .join(' \\\n');
  return `#!/usr/bin/env bash
# Continues this LongLoRA Studio run on a GPU cluster with the official LongLoRA scripts
# (github.com/dvlab-research/LongLoRA, checked against commit ${official.commit}; it pins
# transformers==${official.transformers}). See README.md next to this file.
#   LONGLORA  a checkout of the official repository (default ./LongLoRA)
#   MODEL     the model to start from: the base merged with the studio's adapter (default ../merged)
#   NPROC     GPUs on this node (default 8)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LONGLORA="\${LONGLORA:-./LongLoRA}"
MODEL="\${MODEL:-$HERE/../merged}"
NPROC="\${NPROC:-8}"
MODEL="$(cd "$MODEL" && pwd)"
cd "$LONGLORA"
${data === 'tokens' ? `python "$HERE/use_local_tokens.py" "$HERE/${TOKENS_FILE}"\n` : ''}torchrun --nproc_per_node="$NPROC" ${script} \\
${flags}
`;
}

function readme(r: ClusterRun, data: ClusterData, blocks: number): string {
  const what =
    data.kind === 'records'
      ? `\`${RECORDS_FILE}\`: the run's ${blocks} instruction records in LongAlpaca's format (a JSON list of
\`instruction\`, \`input\`, \`output\`), which \`supervised-fine-tune.py --data_path\` reads; it builds the
same \`[INST]{instruction}[/INST]\` prompts (with \`\\n\` + input when there is one) and masks them from the loss.`
      : `\`${TOKENS_FILE}\`: the run's ${blocks} training blocks of ${r.context} token ids (little-endian uint32,
one row per block). The official \`fine-tune.py\` downloads RedPajama instead; \`use_local_tokens.py\` writes
\`fine-tune-local.py\`, the same script with its two RedPajama lines (\`load_dataset(...)\` and
\`dataset.map(...)\`) replaced by reading this file into a \`DatasetDict\` with one \`input_ids\` row per
block. run.sh runs it for you.`;
  return `# Continue this run on a GPU cluster

Settings carried over: context ${r.context} (\`--model_max_length\`; the official scripts set linear RoPE
scaling ×ceil(${r.context} / max_position_embeddings) from it), ${r.attention === 'full' ? 'full attention (`--use_full_attn True`)' : 'shifted sparse attention (the official flash-attention S²-Attn, `--use_flash_attn True`)'},
LoRA r 8 / alpha 16 on q, k, v, o (the official scripts' fixed LoRA), \`--trainable_params ${trainableParams(r)}\`,
learning rate ${r.lr}, ${r.warmup} warmup steps then ${r.schedule === 'cosine' ? 'cosine' : 'constant'}, ${r.steps} steps,
gradient accumulation ${r.gradAccum}, weight decay ${r.weightDecay}, DeepSpeed ZeRO stage 2
(\`ds_configs/stage2.json\` of the official repository).

Files:
- ${what}
- \`run.sh\`: the \`torchrun\` command with these settings. Every flag is one the official scripts define or
  their README passes to Hugging Face's TrainingArguments (checked against commit ${official.commit}).

## Warm start from the studio's adapter

The official scripts start a fresh LoRA on the model they are given. Start them from the base with this
run's adapter merged in (the trained embeddings and norms included), written locally by

\`\`\`sh
npx longlora merge --model BASE --adapter ADAPTER_FOLDER --out merged
\`\`\`

then copy \`merged/\` and this folder to the cluster and run

\`\`\`sh
LONGLORA=/path/to/LongLoRA MODEL=/path/to/merged NPROC=8 bash cluster/run.sh
\`\`\`

Each optimizer step there sees NPROC × ${r.gradAccum} blocks (here: ${r.gradAccum}); scale \`--max_steps\` or
\`--gradient_accumulation_steps\` in run.sh to match the number of blocks you want per step. The clipping
norm and the random seed are left at Hugging Face's defaults (\`max_grad_norm\` 1.0, \`seed\` 42), as in the
official commands. The result is a PEFT checkpoint in \`cluster/out\`; \`get_trainable_weights.py
--checkpoint_path cluster/out\` writes its \`trainable_params.bin\`.
`;
}

/** The cluster/ folder's files for a run and its training data (keys start with "cluster/"). */
export function buildClusterFiles(r: ClusterRun, data: ClusterData): Record<string, Uint8Array> {
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = {};
  let count: number;
  if (data.kind === 'records') {
    count = data.records.length;
    const records = data.records.map((x) => ({
      instruction: x.instruction,
      input: x.input ?? '',
      output: x.output,
    }));
    files[`cluster/${RECORDS_FILE}`] = enc.encode(JSON.stringify(records, null, 1) + '\n');
  } else {
    count = data.blocks.length;
    const out = new Uint8Array(count * r.context * 4);
    const dv = new DataView(out.buffer);
    data.blocks.forEach((b, i) => {
      if (b.length !== r.context)
        throw new InternalError(`block ${i} has ${b.length} tokens, not the context ${r.context}`);
      for (let t = 0; t < b.length; t++) dv.setUint32((i * r.context + t) * 4, b[t]!, true);
    });
    files[`cluster/${TOKENS_FILE}`] = out;
    files['cluster/use_local_tokens.py'] = enc.encode(LOCAL_TOKENS_PY);
  }
  files['cluster/run.sh'] = enc.encode(runSh(r, data.kind));
  files['cluster/README.md'] = enc.encode(readme(r, data, count));
  return files;
}
