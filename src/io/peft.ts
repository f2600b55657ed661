/** PEFT / LongLoRA adapter export and import (pure functions over file bytes), and zipping. */
import { unzipSync, zipSync } from 'fflate';
import { archOf, type Architecture } from './arch.ts';
import {
  adaptedModule,
  globalName,
  isLinearName,
  linearOfModule,
  linearPath,
  linearShape,
  loraName,
  moduleName,
  trainedTensorShapes,
  type LinearName,
} from './block.ts';
import { modelConfigToHfJson, parseRopeScaling, type ModelConfig } from './config.ts';
import { bytesToF32 } from './dtype.ts';
import { AdapterError, FormatError } from './errors.ts';
import {
  readSafetensorsHeader,
  readTensorBytes,
  writeSafetensors,
  type TensorToWrite,
} from './safetensors.ts';
import { bytesSource } from './source.ts';
import { writeTorchStateDict } from './torch-save.ts';
import { InternalError } from '../util/errors.ts';
import { pythonString, shellQuote } from '../util/shell.ts';

/** One LoRA pair: A [r, in] and B [out, r], row-major f32. */
export interface LoraWeights {
  layer: number;
  module: LinearName;
  A: Float32Array;
  B: Float32Array;
}

/** A trained full tensor (the embedding or an RMSNorm weight) under its plain HF name. */
export interface TrainedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface AdapterArgs {
  config: ModelConfig;
  baseModel: string;
  r: number;
  alpha: number;
  targets: string[];
  lora: LoraWeights[];
  trained: TrainedTensor[];
  /** The linear position-interpolation factor the adapter was trained with. */
  ropeFactor: number;
  /**
   * The `rope_scaling` config.json carries: the one that reproduces training (`exportedRopeScaling`
   * in src/model/longlora.ts decides; this layer only writes it).
   */
  ropeScaling: Record<string, unknown> | null;
  /** The base model's own config.json, to carry its other fields; synthesized from `config` when absent. */
  baseConfigJson?: Record<string, unknown>;
  /** Context length trained at, for the README. */
  contextLength?: number;
}

const PREFIX = 'base_model.model.';

/** PEFT's LoRA scaling of B·A: alpha / r (the graph, the merges and the exports all use this). */
export function loraScaling(alpha: number, r: number): number {
  return alpha / r;
}

/**
 * Which PEFT modules_to_save entries cover these trained tensors: the embedding's, the final norm's
 * and the output layer's module names (PEFT matches by name suffix, so the final norm's `norm`
 * covers every layer norm too).
 */
function modulesToSave(
  config: ModelConfig,
  arch: Architecture,
  trained: TrainedTensor[],
): string[] {
  const norms = trainedTensorShapes(config, { trainEmbed: false, trainNorm: true }, arch);
  const out: string[] = [];
  const has = (which: 'embed' | 'lmHead') =>
    trained.some((t) => t.name === globalName(arch, which));
  if (has('embed')) out.push(moduleName(arch.layout.embed.hf));
  if (trained.some((t) => norms.has(t.name))) out.push(moduleName(arch.layout.norm.hf));
  if (has('lmHead')) out.push(moduleName(arch.layout.lmHead.hf));
  return out;
}

/** How the README names the positions the adapter was trained with. */
function ropeWords(a: AdapterArgs): string {
  const type = a.ropeScaling?.rope_type ?? a.ropeScaling?.type;
  if (a.ropeFactor === 1)
    return a.ropeScaling === null
      ? 'plain RoPE (no position interpolation)'
      : `the model's own ${String(type)} RoPE scaling, unchanged (no position interpolation)`;
  return `linear position interpolation factor ${a.ropeFactor}`;
}

function readme(a: AdapterArgs, mts: string[]): string {
  const ctx = a.contextLength ?? a.config.maxPositions * a.ropeFactor;
  return `# LongLoRA adapter for ${a.baseModel}

Trained with LongLoRA Studio (shifted sparse attention, LoRA r=${a.r} alpha=${a.alpha} on ${a.targets.join(', ')}${
    mts.length ? `, plus trainable ${mts.join(', ')}` : ''
  }) at ${ctx} tokens of context, with ${ropeWords(a)}.

Files:
- \`adapter_config.json\`, \`adapter_model.safetensors\`: a PEFT LoRA adapter (trained embeddings and norms under modules_to_save).
- \`trainable_params.bin\`: the trained embeddings and norms as a PyTorch \`torch.save\` state dict under plain Hugging Face names, the file the official LongLoRA scripts load from the adapter folder.
- \`trainable_params.safetensors\`: the same tensors as safetensors.
- \`config.json\`: the base config with \`"rope_scaling": ${JSON.stringify(a.ropeScaling)}\`, the positions the adapter was trained with.

## Load with PEFT

\`\`\`python
import torch
from transformers import AutoConfig, AutoModelForCausalLM
from peft import PeftModel

config = AutoConfig.from_pretrained("./adapter")  # carries rope_scaling
model = AutoModelForCausalLM.from_pretrained(${pythonString(a.baseModel)}, config=config, torch_dtype=torch.bfloat16)
model = PeftModel.from_pretrained(model, "./adapter")
model = model.merge_and_unload()  # optional: a plain model with the adapter merged
\`\`\`

## Merge, evaluate and test with the official LongLoRA scripts (github.com/dvlab-research/LongLoRA)

Run these from a checkout of the official repository, with this folder as \`./adapter\`. The merge
script loads \`trainable_params.bin\` from the adapter folder before the LoRA weights:

\`\`\`bash
python merge_lora_weights_and_save_hf_model.py --base_model ${shellQuote(a.baseModel)} --peft_model ./adapter --context_size ${ctx} --save_path ./merged
python eval.py --seq_len ${ctx} --context_size ${ctx} --batch_size 1 --base_model ./merged --data_path ./test.bin
python passkey_retrivial.py --context_size ${ctx} --base_model ./merged --max_tokens ${ctx} --interval 1000
\`\`\`

\`eval.py\` reads \`--data_path\` as token ids (uint16). Both official scripts add a \`[PAD]\` token
when the tokenizer has none (the merge script; \`eval.py\` always resizes the vocabulary to 32001),
and the embeddings here (in \`trainable_params.bin\` and under modules_to_save) have the tokenizer's
own row count: they load only into a model whose tokenizer already has a pad token, otherwise
\`load_state_dict\` stops with a size mismatch.

Continue training the merged model on a multi-GPU cluster (official defaults):

\`\`\`bash
torchrun --nproc_per_node=8 fine-tune.py --model_name_or_path ./merged --bf16 True --output_dir ./out \\
  --cache_dir ./cache --model_max_length ${ctx} --use_flash_attn True --low_rank_training True \\
  --num_train_epochs 1 --per_device_train_batch_size 1 --per_device_eval_batch_size 2 \\
  --gradient_accumulation_steps 8 --evaluation_strategy "no" --save_strategy "steps" --save_steps 1000 \\
  --save_total_limit 2 --learning_rate 2e-5 --weight_decay 0.0 --warmup_steps 20 \\
  --lr_scheduler_type "constant_with_warmup" --logging_steps 1 --deepspeed "ds_configs/stage2.json" \\
  --tf32 True --max_steps 1000
\`\`\`
`;
}

/** Builds the exported adapter's files: adapter_config.json, adapter_model.safetensors, trainable_params.bin and .safetensors, config.json, README.md. */
export function buildAdapterFiles(a: AdapterArgs): Record<string, Uint8Array> {
  const enc = new TextEncoder();
  const arch = archOf(a.config);
  const mts = modulesToSave(a.config, arch, a.trained);
  const adapterTensors: TensorToWrite[] = [];
  for (const l of [...a.lora].sort(
    (x, y) => x.layer - y.layer || a.targets.indexOf(x.module) - a.targets.indexOf(y.module),
  )) {
    if (!a.targets.includes(l.module))
      throw new InternalError(
        `LoRA for ${l.module} is not among the targets ${a.targets.join(', ')}`,
      );
    const [out, inp] = linearShape(a.config, l.module);
    if (l.A.length !== a.r * inp || l.B.length !== out * a.r) {
      throw new InternalError(
        `layer ${l.layer} ${l.module}: A must be [${a.r}, ${inp}] and B [${out}, ${a.r}]`,
      );
    }
    for (const [ab, shape, data] of [
      ['A', [a.r, inp], l.A],
      ['B', [out, a.r], l.B],
    ] as const)
      adapterTensors.push({
        name: PREFIX + loraName(l.layer, l.module, ab, arch),
        dtype: 'F32',
        shape: [...shape],
        data,
      });
  }
  for (const t of a.trained)
    adapterTensors.push({ name: PREFIX + t.name, dtype: 'F32', shape: t.shape, data: t.data });
  const trainable = a.trained.map((t): TensorToWrite => ({
    name: t.name,
    dtype: 'F32',
    shape: t.shape,
    data: t.data,
  }));

  const adapterConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: a.baseModel,
    r: a.r,
    lora_alpha: a.alpha,
    lora_dropout: 0,
    // PEFT's module names of the targets (the graph's names, unless the layout renames them).
    target_modules: a.targets.map((t) => (isLinearName(t) ? moduleName(linearPath(t, arch)) : t)),
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: mts.length ? mts : null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: false,
    use_dora: false,
    revision: null,
  };
  const base = a.baseConfigJson ?? modelConfigToHfJson(a.config);
  const modelConfig = { ...base, rope_scaling: a.ropeScaling };
  const meta = { format: 'pt' };
  return {
    'adapter_config.json': enc.encode(JSON.stringify(adapterConfig, null, 2) + '\n'),
    'adapter_model.safetensors': writeSafetensors(adapterTensors, meta),
    'trainable_params.bin': writeTorchStateDict(a.trained),
    'trainable_params.safetensors': writeSafetensors(trainable, meta),
    'config.json': enc.encode(JSON.stringify(modelConfig, null, 2) + '\n'),
    'README.md': enc.encode(readme(a, mts)),
  };
}

/** What readAdapter restores from exported files. */
export interface ReadAdapter {
  baseModel: string;
  r: number;
  alpha: number;
  targets: string[];
  modulesToSave: string[];
  lora: LoraWeights[];
  trained: TrainedTensor[];
  /**
   * The linear position-interpolation factor config.json's rope_scaling gives (1 for none, llama3 or
   * dynamic), or null when the adapter has no config.json.
   */
  ropeFactor: number | null;
}

/** Reads an adapter back from its files (as built by buildAdapterFiles, or a PEFT LoRA folder). */
export async function readAdapter(files: Record<string, Uint8Array>): Promise<ReadAdapter> {
  const json = (name: string): Record<string, unknown> | null => {
    const b = files[name];
    if (!b) return null;
    try {
      return JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
    } catch (e) {
      throw new FormatError(name, `invalid JSON (${(e as Error).message})`);
    }
  };
  const cfg = json('adapter_config.json');
  if (!cfg) throw new FormatError('adapter_config.json', 'missing from the adapter');
  if (cfg.peft_type !== 'LORA')
    throw new AdapterError('adapter_config.json', `peft_type ${String(cfg.peft_type)} is not LORA`);
  const weights = files['adapter_model.safetensors'];
  if (!weights) throw new FormatError('adapter_model.safetensors', 'missing from the adapter');
  const src = bytesSource('adapter_model.safetensors', weights);
  const header = await readSafetensorsHeader(src);
  const pairs = new Map<string, Partial<LoraWeights>>();
  const trained: TrainedTensor[] = [];
  for (const t of header.tensors) {
    const data = bytesToF32(await readTensorBytes(src, t), t.dtype);
    const m = t.name.startsWith(PREFIX)
      ? /^(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(t.name.slice(PREFIX.length))
      : null;
    const at = m ? adaptedModule(m[1]!) : null;
    if (at) {
      const module = linearOfModule(at.module);
      if (!module)
        throw new AdapterError(src.name, `"${t.name}" adapts an unknown module ${at.module}`);
      const key = `${at.layer}.${module}`;
      const p = pairs.get(key) ?? { layer: at.layer, module };
      p[m![2] as 'A' | 'B'] = data;
      pairs.set(key, p);
    } else if (t.name.startsWith(PREFIX)) {
      trained.push({ name: t.name.slice(PREFIX.length), shape: t.shape, data });
    } else {
      throw new AdapterError(src.name, `unexpected tensor "${t.name}"`);
    }
  }
  const lora: LoraWeights[] = [];
  for (const [key, p] of pairs) {
    if (!p.A || !p.B)
      throw new FormatError(src.name, `layer ${key} has lora_${p.A ? 'B' : 'A'} missing`);
    lora.push(p as LoraWeights);
  }
  const modelCfg = json('config.json');
  const rope = modelCfg ? parseRopeScaling(modelCfg.rope_scaling, 'config.json') : undefined;
  return {
    baseModel: String(cfg.base_model_name_or_path ?? ''),
    r: Number(cfg.r),
    alpha: Number(cfg.lora_alpha),
    targets: Array.isArray(cfg.target_modules) ? cfg.target_modules.map(String) : [],
    modulesToSave: Array.isArray(cfg.modules_to_save) ? cfg.modules_to_save.map(String) : [],
    lora,
    trained,
    ropeFactor: rope === undefined ? null : rope?.type === 'linear' ? rope.factor : 1,
  };
}

/** Packs files into a zip (stored, not deflated: weights barely compress and this keeps export fast). */
export function zipFiles(files: Record<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]])));
}

/** Unpacks a zip made by zipFiles (or any zip) into its files. */
export function unzipFiles(zip: Uint8Array): Record<string, Uint8Array> {
  return unzipSync(zip);
}
