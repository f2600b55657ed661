/** `longlora <command>`: the studio's engine headless in Node (Dawn WebGPU). */
import { dirname } from 'node:path';
import { StudioError } from '../util/errors.ts';
import { DEFAULT_MEMORY_BUDGET_TEXT } from '../util/memory-budget.ts';
import { UsageError } from './args.ts';
import { exportCluster, exportGguf } from './commands-export.ts';
import { evalCmd, generateCmd, gradCmd, info } from './commands-model.ts';
import { merge, train } from './commands-train.ts';
import { tune } from './commands-tune.ts';

const USAGE = `longlora — LongLoRA context extension on WebGPU (Node + Dawn)

Commands (MODEL: a Hugging Face folder, a .safetensors with config.json beside it, or a .gguf):
  info      --model MODEL [--context N] [--attention full|s2|s2roll] [--group-size G] [--rank R]
            [--alpha A] [--targets ...] [--trainable embed,norm|none] [--no-checkpointing]
            [--base-quant none|q8_0|q4_k] [--offload none|checkpoints|auto] [--budget 8GiB] [--host-budget 32GiB] [--json]
  generate  --model MODEL [--adapter DIR] [--prompt TEXT] [--max-new-tokens N] [--temperature T]
            [--top-p P] [--seed S] [--rope-factor F] [--base-quant none|q8_0|q4_k] [--offload none|checkpoints|auto] [--json]
  eval      --model MODEL [--adapter DIR] --data FILE --context N [--stride S] [--max-windows K]
            [--rope-factor F] [--base-quant none|q8_0|q4_k] [--offload none|checkpoints|auto] [--budget 8GiB] [--host-budget 32GiB] [--json]
  grad      --model MODEL [--adapter DIR] --tokens FILE.json --context N [--attention full|s2|s2roll]
            [--group-size G] [--rope-factor F] [--targets q_proj,k_proj,v_proj,o_proj]
            [--trainable embed,norm|none] [--rank R] [--alpha A] [--seed S]
            [--base-quant none|q8_0|q4_k] [--offload none|checkpoints|auto] [--budget 8GiB] [--host-budget 32GiB] --out FILE.safetensors
  train     --model MODEL --data FILE [--separator none|blank-line|line|eos] [--chat-template model|none] --out DIR [--context N] [--attention full|s2|s2roll] [--group-size G]
            [--rope-factor F] [--rank R] [--alpha A] [--targets ...] [--trainable embed,norm|none]
            [--lr LR] [--warmup W] [--schedule constant|cosine] [--steps S] [--grad-accum K] [--clip C]
            [--seed S] [--order shuffled|sequential] [--holdout-blocks K] [--init-adapter DIR] [--eval-every K] [--eval-windows K] [--checkpoint-every K] [--checkpoint-minutes M] [--keep-checkpoints K] [--no-checkpointing]
            [--base-quant none|q8_0|q4_k] [--offload none|checkpoints|auto] [--resume] [--log-json FILE] [--budget 8GiB] [--host-budget 32GiB]
  merge     --model MODEL --adapter DIR --out DIR
  tune      --model MODEL [--context N] [--rank R] [--targets ...] [--base-quant Q] [--force] [--json]
  export-gguf --model MODEL [--adapter DIR] --out FILE.gguf [--dtype f32|f16|bf16|q8_0|q6_k|q4_k_m] [--context N]
            [--lora]
  export-cluster --model MODEL --data FILE --out DIR [--context N] [--attention full|s2|s2roll]
            [--trainable embed,norm|none] [--lr LR] [--warmup W] [--schedule constant|cosine]
            [--steps S] [--grad-accum K] [--separator ...] [--holdout-blocks K]

--verbose (any command) also shows what the GPU driver stack (Dawn, Vulkan, Mesa) prints on its own,
such as "XDG_RUNTIME_DIR is invalid" or Vulkan feature warnings; hidden by default.

--budget is the GPU memory to plan against (GiB, or 512MiB): WebGPU cannot report a GPU's memory,
so without it the plan assumes ${DEFAULT_MEMORY_BUDGET_TEXT}. Every command refuses a plan that does not fit before it
allocates anything.

--base-quant (info, generate, eval, grad, train) is what the frozen base weights are on the GPU:
none keeps them as stored; q8_0 and q4_k quantize float (f32/f16/bf16) weights on load with
llama.cpp's reference quantizers (no importance matrix; a Q4_K row that is not whole 256-value
blocks becomes Q5_0, one not whole 32-value blocks stays as stored). A quantized GGUF's weights stay
in their own blocks whatever it says. The embedding is quantized only when it is not trained (LoRA+
trains it in f32); norms and biases stay f32. info prints the base weights' bytes per GPU type.
train --resume keeps the checkpoint's --base-quant unless one is given.

--offload (info, generate, eval, grad, train) is where the layer-input checkpoints of a training step
live: none keeps them in GPU memory; checkpoints keeps them in this process's memory (each copied out
while the next layer runs and written back one layer ahead in the backward; the loss and gradients
are the same to the bit); auto offloads only when the plan does not fit --budget. --host-budget
(default: this machine's free memory, assumed) is the host memory a plan may take; a plan over it is
refused before anything is allocated. info prints the plan's host memory beside the GPU's.
train --resume keeps the checkpoint's --offload unless one is given.

train --data: a .txt is one document unless it holds lines of only <|endoftext|> (or the tokenizer's
EOS text), or --separator says where to cut; .json/.jsonl records with "text" are documents; a .json
array of token ids is the token stream as it is; Alpaca records (instruction/input/output) mask the
prompt from the loss: a user turn (instruction, then input) and an assistant turn (output) in the
model's chat template (tokenizer_config.json's chat_template), or [INST]{prompt}[/INST]{output}</s>
for a model without one or with --chat-template none. --holdout-blocks K holds out exactly the last K blocks (0 allowed; default 5%).
--init-adapter DIR starts from an adapter (its rank, alpha, targets and trained tensors) instead of
a fresh LoRA init; --order sequential takes the blocks in file order instead of shuffled.

export-gguf writes the merged model (base + adapter, trained embeddings and norms substituted) as a
GGUF for llama.cpp, with llama.context_length = the trained context (--context, else the adapter's)
and its RoPE scaling; --dtype defaults to the base's (q8_0, q6_k, q4_k_m: the file llama-quantize makes
from the f32 export, byte for byte). With --lora it writes the adapter as a
llama.cpp LoRA GGUF instead (only for adapters without trained embeddings/norms).

tune times every matmul kernel variant at the shapes a training step of MODEL at N tokens
launches, checks each against a float64 dot product, and caches the fastest per GPU adapter in
$LONGLORA_CACHE_DIR/autotune.json (default ~/.cache/longlora-studio/); train and eval tune what is
not cached yet before their first step (train --no-tune skips it) and use the cached choices.
It then lists the kernel every family of the step runs (attention, cross-entropy, LoRA, RMSNorm,
gradient norm: the adapter's default; matmul: the choices above), and --json adds them as kernels.

LONGLORA_DAWN_TOGGLES (environment, any command) enables Dawn toggles, comma-separated, e.g.
allow_unsafe_apis (experimental features: subgroup matrices) and vulkan_enable_f16_on_nvidia
(shader-f16 on NVIDIA's Vulkan driver); none by default. The GPU line on stderr says whether the
adapter has shader-f16 and subgroup matrices; tune uses them only after they pass its check.

export-cluster writes the files to continue a run on a GPU cluster with the official LongLoRA
scripts: the training data in their format (LongAlpaca JSON for instruction data, token ids for
text), run.sh with the run's settings (pass the flags the run was trained with) and a README.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  info,
  generate: generateCmd,
  eval: evalCmd,
  grad: gradCmd,
  train,
  merge,
  'export-gguf': exportGguf,
  'export-cluster': exportCluster,
  tune,
};

/** Runs a command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // --verbose is for bin/longlora.mjs (the GPU driver's own messages shown): no command takes it.
  const [cmd, ...rest] = argv.filter((a) => a !== '--verbose');
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    console.error(`longlora: unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await run(rest);
    return 0;
  } catch (e) {
    const { text, code } = describeCliError(e, rest);
    console.error(`longlora ${cmd}: ${text}`);
    if (process.env.LONGLORA_DEBUG) console.error((e as Error).stack);
    return code;
  }
}

/** What to give for each flag that names a path to read. */
const PATH_HINTS: Record<string, string> = {
  model:
    'Give a Hugging Face model folder, a .safetensors file with config.json beside it, or a .gguf file.',
  data: 'Give a text or records file: .txt, .json or .jsonl (see longlora --help).',
  adapter: 'Give the folder longlora train --out wrote (or a PEFT LoRA adapter folder).',
  'init-adapter': 'Give the folder longlora train --out wrote (or a PEFT LoRA adapter folder).',
  tokens: 'Give a .json file holding an array of token ids.',
};
/** Flags that name a path to write. */
const OUTPUT_FLAGS = new Set(['out', 'log-json']);

/** The `--flag value` pairs of a command line (also `--flag=value`). */
function flagValues(argv: string[]): [string, string][] {
  const out: [string, string][] = [];
  argv.forEach((a, i) => {
    if (!a.startsWith('--')) return;
    const eq = a.indexOf('=');
    if (eq > 0) out.push([a.slice(2, eq), a.slice(eq + 1)]);
    else if (i + 1 < argv.length) out.push([a.slice(2), argv[i + 1]!]);
  });
  return out;
}

/** A path that does not exist, said by the flag that named it (a usage error) with what to give. */
function missingPath(path: string, argv: string[]): { text: string; code: number } {
  for (const [flag, value] of flagValues(argv)) {
    const trimmed = value.replace(/[/\\]+$/, '');
    if (path === value || path === trimmed) {
      if (OUTPUT_FLAGS.has(flag))
        return {
          text: `--${flag} ${value}: the folder ${dirname(trimmed)} does not exist; create it first.`,
          code: 2,
        };
      return {
        text: `--${flag} ${value}: no such file or folder. ${PATH_HINTS[flag] ?? 'Check the path.'}`,
        code: 2,
      };
    }
    if (trimmed && (path.startsWith(`${trimmed}/`) || path.startsWith(`${trimmed}\\`))) {
      const inside = path.slice(trimmed.length + 1);
      return {
        text: `--${flag} ${value}: it has no ${inside}. ${PATH_HINTS[flag] ?? 'Check the path.'}`,
        code: 2,
      };
    }
  }
  return { text: `${path}: no such file or folder.`, code: 1 };
}

/**
 * What `longlora CMD` prints after its name for an error, and the exit code: a StudioError's message
 * (its file added when the message does not name it) without its class name, 2 for usage errors;
 * a path that does not exist (Node's ENOENT) by the flag that named it, also 2; anything else — a
 * bug — with its class name (TypeError: …), 1.
 */
export function describeCliError(e: unknown, argv: string[]): { text: string; code: number } {
  const o = (e ?? {}) as { code?: unknown; path?: unknown };
  if (o.code === 'ENOENT' && typeof o.path === 'string') return missingPath(o.path, argv);
  if (e instanceof StudioError) {
    const file = (e as { file?: string }).file;
    const text = file && !e.message.includes(file) ? `${e.message} (${file})` : e.message;
    return { text, code: e instanceof UsageError ? 2 : 1 };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    text: err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message,
    code: 1,
  };
}
