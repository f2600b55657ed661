/** Shared pieces of the `longlora` commands: opening models and adapters, the GPU, logging. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeRuntime } from '../engine/node-host.ts';
import type { Runtime } from '../engine/runtime.ts';
import { createTokenizer, type OpenedModel } from '../io/model.ts';
import { openModelPath } from '../io/open-node.ts';
import { readAdapter, type ReadAdapter } from '../io/peft.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { checkAdapterFits } from '../model/session.ts';
import { DEFAULT_LORA, type LoraSettings } from '../model/longlora.ts';
import { isLinearName, LINEAR_NAMES } from '../model/types.ts';
import {
  ATTENTION_PATTERNS,
  isAttentionPattern,
  type AttentionPattern,
} from '../util/attention-pattern.ts';
import { list, num, UsageError } from './args.ts';

/** Progress and notes go to stderr; results to stdout. */
export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Opens MODEL (folder, .safetensors with config.json beside it, or .gguf). */
export async function openModelArg(path: string): Promise<OpenedModel> {
  const m = await openModelPath(path);
  if (m.missing.length) log(`note: ${path} has no ${m.missing.join(', ')}`);
  return m;
}

/** The model's tokenizer; a clear error when it has none. */
export function tokenizerOf(m: OpenedModel, path: string): Tokenizer {
  const t = createTokenizer(m.tokenizer, m.config);
  if (!t) throw new UsageError(`${path} has no tokenizer (tokenizer.json or a GGUF vocabulary).`);
  return t;
}

/** Reads an adapter folder and checks it fits the model. */
export async function readAdapterDir(dir: string, m: OpenedModel): Promise<ReadAdapter> {
  const files: Record<string, Uint8Array> = {};
  for (const f of await readdir(dir)) {
    if (/\.(json|safetensors)$/.test(f)) files[f] = new Uint8Array(await readFile(join(dir, f)));
  }
  const a = await readAdapter(files);
  checkAdapterFits(m.config, a);
  return a;
}

/** LoRA settings from --rank, --alpha, --targets, --trainable. */
export function loraFromArgs(v: Record<string, unknown>): LoraSettings {
  const targets = list(v, 'targets', [...DEFAULT_LORA.targets]).map((t) => {
    if (!isLinearName(t))
      throw new UsageError(`--targets: unknown module ${t} (use ${LINEAR_NAMES.join(', ')})`);
    return t;
  });
  const trainable = list(v, 'trainable', ['embed', 'norm']);
  for (const t of trainable) {
    if (!['embed', 'norm', 'none'].includes(t))
      throw new UsageError(`--trainable: unknown ${t} (use embed,norm or none)`);
  }
  return {
    rank: num(v, 'rank', DEFAULT_LORA.rank, true),
    alpha: num(v, 'alpha', DEFAULT_LORA.alpha),
    targets,
    trainEmbed: trainable.includes('embed'),
    trainNorm: trainable.includes('norm'),
  };
}

/** --attention as a pattern (full, s2 or s2roll). */
export function attentionArg(
  v: Record<string, unknown>,
  fallback: AttentionPattern,
): AttentionPattern {
  const p = v.attention ?? fallback;
  if (!isAttentionPattern(p))
    throw new UsageError(`--attention must be ${ATTENTION_PATTERNS.join(', ')} (got ${String(p)})`);
  return p;
}

let shared: Promise<Runtime> | null = null;

/**
 * The Node GPU runtime, saying which adapter it uses. One per process: commands run in one process
 * (tests) share its compiled pipelines; each command frees what it allocated.
 */
export function gpu(): Promise<Runtime> {
  shared ??= createNodeRuntime(log).then((rt) => {
    log(`GPU: ${rt.info.name}${rt.info.description ? ` (${rt.info.description})` : ''}`);
    return rt;
  });
  return shared;
}
