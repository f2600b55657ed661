/** Shared pieces of the `longlora` commands: opening models and adapters, the GPU, logging. */
import { readdir, readFile } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import type { RuntimeCaps } from '../engine/device.ts';
import { createNodeRuntime } from '../engine/node-host.ts';
import { setTuneStore } from '../engine/kernels/autotune.ts';
import { fileTuneStore, tuneCachePath } from '../engine/tune-store-node.ts';
import { tuneBudgetMs, tuneModelOf, tuneStepKernels, type AttentionPass } from '../model/tune.ts';
import type { Runtime } from '../engine/runtime.ts';
import { storedWeightBytes } from '../io/dtype.ts';
import { createTokenizer, type OpenedModel } from '../io/model.ts';
import { openModelPath } from '../io/open-node.ts';
import { readAdapter, type ReadAdapter } from '../io/peft.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { applyAdapter, checkAdapterFits, weightSource } from '../model/session.ts';
import type { LoraSettings } from '../model/longlora.ts';
import { BASE_QUANTS, type BaseQuant } from '../model/base-quant.ts';
import { LlamaParams } from '../model/params.ts';
import { OFFLOAD_CHOICES, type Offload } from '../model/offload-setting.ts';
import {
  frozenTypeOf,
  hostBudgetProblem,
  mostlyFloatBase,
  parseBudget,
  planProblem,
  planWithOffload,
  runProblems,
  type MemoryPlan,
  type PlanInput,
} from '../model/plan.ts';
import { formatBytes, formatBytesByType } from '../util/bytes.ts';
import { gpuFeatureWords } from '../util/gpu-features.ts';
import { budgetWords, DEFAULT_MEMORY_BUDGET } from '../util/memory-budget.ts';
import { isLinearName, LINEAR_NAMES, type LinearName } from '../model/types.ts';
import {
  cliDefaults,
  loraOf,
  TRAINABLES,
  type RunSettings,
  type Trainable,
} from '../train/settings.ts';
import { flagOf, NUMBER_RULES } from '../util/setting-rules.ts';
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

/** --targets: the LoRA-targeted projections. */
function targetsArg(v: Record<string, unknown>, fallback: readonly LinearName[]): LinearName[] {
  return list(v, 'targets', [...fallback]).map((t) => {
    if (!isLinearName(t))
      throw new UsageError(`--targets: unknown module ${t} (use ${LINEAR_NAMES.join(', ')})`);
    return t;
  });
}

/** --trainable: what LoRA+ trains besides LoRA (embed, norm; none for plain LoRA). */
function trainableArg(v: Record<string, unknown>, fallback: readonly Trainable[]): Trainable[] {
  const given = list(v, 'trainable', [...fallback]);
  for (const t of given) {
    if (![...TRAINABLES, 'none'].includes(t))
      throw new UsageError(`--trainable: unknown ${t} (use embed,norm or none)`);
  }
  return TRAINABLES.filter((t) => given.includes(t));
}

/** One of `choices` for --flag, else `fallback`. */
function choiceArg<T extends string>(
  v: Record<string, unknown>,
  flag: string,
  choices: readonly T[],
  fallback: T,
): T {
  const x = v[flag] ?? fallback;
  if (!choices.includes(x as T))
    throw new UsageError(`--${flag} must be ${choices.join(' or ')} (got ${String(x)})`);
  return x as T;
}

/**
 * A run's settings from the command line: each RunSettings key from its flag (the key in
 * kebab-case, src/train/settings.ts), `d` where a flag is not given (or not an option of this
 * command). Numbers are checked against their range as they are read.
 */
export function settingsFromArgs(v: Record<string, unknown>, d: RunSettings): RunSettings {
  const out: RunSettings = {
    ...d,
    attention: attentionArg(v, d.attention),
    targets: targetsArg(v, d.targets),
    trainable: trainableArg(v, d.trainable),
    schedule: choiceArg(v, 'schedule', ['constant', 'cosine'] as const, d.schedule),
    order: choiceArg(v, 'order', ['shuffled', 'sequential'] as const, d.order),
    baseQuant: baseQuantArg(v, d.baseQuant),
    offload: offloadArg(v, d.offload),
    checkpointing: d.checkpointing && v['no-checkpointing'] !== true,
  };
  const numbers = out as unknown as Record<string, number | null>;
  for (const key of Object.keys(d)) {
    if (!(key in NUMBER_RULES) || v[flagOf(key)] === undefined) continue;
    numbers[key] = num(v, flagOf(key), NaN);
  }
  return out;
}

/** LoRA settings from --rank, --alpha, --targets, --trainable (the rest of the run's flags unread). */
export function loraFromArgs(v: Record<string, unknown>): LoraSettings {
  const d = cliDefaults(0);
  return loraOf({
    rank: num(v, 'rank', d.rank),
    alpha: num(v, 'alpha', d.alpha),
    targets: targetsArg(v, d.targets),
    trainable: trainableArg(v, d.trainable),
  });
}

/** The option of every command that loads (or plans) the model on the GPU: `--base-quant`. */
export const BASE_QUANT_OPTION = { 'base-quant': { type: 'string' } } as const;

/** --base-quant: the frozen base weights as stored (none) or quantized on load (q8_0, q4_k). */
export function baseQuantArg(v: Record<string, unknown>, fallback: BaseQuant = 'none'): BaseQuant {
  return choiceArg(v, 'base-quant', BASE_QUANTS, fallback);
}

/**
 * The options of every command that loads (or plans) the model on the GPU: where its layer-input
 * checkpoints live (`--offload`) and the host memory they may take (`--host-budget`).
 */
export const OFFLOAD_OPTION = {
  offload: { type: 'string' },
  'host-budget': { type: 'string' },
} as const;

/** --offload: the checkpoints on the GPU (none), in host memory (checkpoints), or as the plan needs (auto). */
export function offloadArg(v: Record<string, unknown>, fallback: Offload = 'none'): Offload {
  return choiceArg(v, 'offload', OFFLOAD_CHOICES, fallback);
}

/** A host budget: its bytes, whether the user stated it, and what an assumed one was taken from. */
export interface HostBudget {
  bytes: number;
  stated: boolean;
  assumed: string;
}

/** --host-budget as bytes; without it, the machine's free memory now (os.freemem), assumed. */
export function hostBudgetArg(v: Record<string, unknown>): HostBudget {
  const text = v['host-budget'];
  try {
    const given = parseBudget(typeof text === 'string' ? text : undefined);
    if (given !== null) return { bytes: given, stated: true, assumed: '' };
  } catch (e) {
    throw new UsageError(`--host-budget: ${(e as Error).message}`);
  }
  return { bytes: freemem(), stated: false, assumed: "this machine's free memory" };
}

const HOST_FIX =
  'Keep the checkpoints on the GPU (--offload none), use a smaller --context, or, if this machine ' +
  'has more memory free, say how much with --host-budget (e.g. --host-budget 32GiB).';

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

/** --budget as bytes ("8GiB", "512MiB", or a bare number of GiB); null when absent. */
export function budgetArg(v: Record<string, unknown>): number | null {
  const text = v.budget;
  try {
    return parseBudget(typeof text === 'string' ? text : undefined);
  } catch (e) {
    throw new UsageError(`--budget: ${(e as Error).message}`);
  }
}

const LOWER_LORA = 'Lower --context or --rank, or use --trainable none';

/** The device limits a plan is checked against. */
export interface PlanLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** What a command is about to run, for its plan check. */
export interface PlannedRun {
  plan: PlanInput;
  pattern: AttentionPattern;
  group: number;
  /** Evaluation runs with nothing trainable (a base model); grad and train need something. */
  needsTrainables: boolean;
  /** The options that lower the plan (default: --context, --rank, --trainable none). */
  lower?: string;
  /** Where the checkpoints go (--offload; default none). */
  offload?: Offload;
  /** The host memory the plan may take (--host-budget); unchecked without it. */
  hostBudget?: HostBudget;
}

/**
 * What stops a planned run, each with what to change on the command line; empty when it can run.
 * `budgetGiven`: the budget came from --budget (else it is the assumed default).
 */
export function planProblems(
  run: PlannedRun,
  plan: MemoryPlan,
  limits: PlanLimits,
  budget: number,
  budgetGiven: boolean,
): string[] {
  const { context, lora } = run.plan;
  const problems = runProblems(
    plan,
    { context, pattern: run.pattern, group: run.group, lora },
    limits,
    budget,
  );
  const memory = planProblem(plan, limits, budget);
  const host = run.hostBudget ? hostBudgetProblem(plan, run.hostBudget, HOST_FIX) : null;
  return problems
    .filter((p) => run.needsTrainables || p.message !== 'Nothing is trainable.')
    .map((p) => {
      if (p.message !== memory) return `${p.message} ${p.fix}`;
      const alloc = plan.largestAllocation;
      if (alloc.bytes > limits.maxBufferSize) {
        return (
          `${alloc.name} needs one buffer of ${formatBytes(alloc.bytes)}, more than this GPU ` +
          `allocates (${formatBytes(limits.maxBufferSize)}). Use a smaller --context.`
        );
      }
      const big = plan.largestBuffer;
      if (big.bytes > limits.maxStorageBufferBindingSize) {
        return (
          `${big.name} needs one buffer of ${formatBytes(big.bytes)}, more than this GPU binds ` +
          `(${formatBytes(limits.maxStorageBufferBindingSize)}). Use a smaller --context.`
        );
      }
      const assumed = budgetGiven ? '' : " (WebGPU does not report a GPU's memory)";
      // Base weights mostly in a float dtype: quantizing them on load is the largest saving.
      const quantize = mostlyFloatBase(plan)
        ? ', or quantize the base weights with --base-quant q4_k'
        : '';
      // Checkpoints kept on the GPU: offloading them is a saving too (checkpointing only).
      const offload =
        !plan.offloaded && run.plan.checkpointing
          ? ', or keep checkpoints in host memory with --offload checkpoints'
          : '';
      return (
        `It needs about ${formatBytes(plan.total)} of GPU memory; the budget is ` +
        `${budgetWords(budget, budgetGiven)}${assumed}. ${run.lower ?? LOWER_LORA}${quantize}${offload}; or, if this GPU has more ` +
        `memory, say how much with --budget (e.g. --budget 16GiB).`
      );
    })
    .concat(host ? [host] : []);
}

/** The plan of `run` under `limits` with its checkpoints where --offload puts them (planWithOffload). */
export function planRun(run: PlannedRun, limits: PlanLimits, budget: number): MemoryPlan {
  return planWithOffload({ ...run.plan, limits }, run.offload ?? 'none', budget);
}

/**
 * The plan input for `m` with these trainables at `context`: each frozen matrix in the GPU type its
 * stored type and `baseQuant` give it (a model without tensors, a config alone: its dtype).
 */
export function planInputFor(
  m: Pick<OpenedModel, 'config' | 'dtypes' | 'tensors'>,
  lora: LoraSettings,
  context: number,
  opts: { checkpointing: boolean; optimizerState: boolean; baseQuant: BaseQuant },
): PlanInput {
  const { baseQuant, ...rest } = opts;
  return {
    shape: m.config,
    weightBytes: storedWeightBytes(m.dtypes),
    frozenType: frozenTypeOf({ tensors: m.tensors, dtype: m.dtypes[0] }, baseQuant),
    lora,
    context,
    ...rest,
  };
}

/**
 * Plans `run` on `rt` and refuses it, before anything is allocated, when it does not fit the
 * device's limits and the budget (--budget, else DEFAULT_MEMORY_BUDGET) or its attention
 * settings or trainables are invalid. `what` names the work ("grad", "train", "eval").
 */
export function checkPlan(
  rt: Runtime,
  v: Record<string, unknown>,
  run: PlannedRun,
  what: string,
): MemoryPlan {
  const given = budgetArg(v);
  const budget = given ?? DEFAULT_MEMORY_BUDGET;
  const limits = rt.info.limits;
  const plan = planRun(run, limits, budget);
  const problems = planProblems(run, plan, limits, budget, given !== null);
  if (problems.length) {
    throw new UsageError(
      `${what} at ${run.plan.context} tokens cannot run here (plan: ${formatBytes(plan.total)}): ` +
        problems.join(' '),
    );
  }
  const host = plan.offloaded
    ? `; checkpoints in host memory: ${formatBytes(plan.host.checkpoints)} (host total ${formatBytes(plan.hostBytes)})`
    : '';
  log(
    `plan: ${formatBytes(plan.total)} of GPU memory (budget: ${budgetWords(budget, given !== null)}); ` +
      `base weights on the GPU: ${formatBytesByType(plan.baseTypes)}${host}`,
  );
  return plan;
}

/**
 * Loads the model for a forward (and backward) only: trainables get gradients but no AdamW moments
 * (`grad`, `eval`, `generate`); an adapter's tensors are written in exactly. The frozen base weights
 * as `baseQuant` says (--base-quant).
 */
export async function loadWithoutOptimizer(
  rt: Runtime,
  m: OpenedModel,
  lora: LoraSettings,
  seed: number,
  adapter: ReadAdapter | undefined,
  baseQuant: BaseQuant,
): Promise<LlamaParams> {
  const params = await LlamaParams.load(rt, m.config, lora, weightSource(m), seed, undefined, {
    optimizerState: false,
    baseQuant,
  });
  if (adapter) applyAdapter(params, adapter);
  return params;
}

/** The options every GPU command takes to cap the limits it requests from the adapter. */
export const CAP_OPTIONS = {
  'max-binding-size': { type: 'string' },
  'max-buffer-size': { type: 'string' },
} as const;

/**
 * --max-binding-size / --max-buffer-size (bytes): caps on the limits requested from the adapter
 * (never above what it offers), so a run can be planned and tested as on a smaller GPU.
 */
export function capsArg(v: Record<string, unknown>): RuntimeCaps {
  const caps: RuntimeCaps = {};
  for (const [flag, key] of [
    ['max-binding-size', 'maxStorageBufferBindingSize'],
    ['max-buffer-size', 'maxBufferSize'],
  ] as const) {
    if (v[flag] === undefined) continue;
    const n = num(v, flag, 0);
    if (n <= 0 || n % 4 !== 0)
      throw new UsageError(`--${flag} must be a positive multiple of 4 bytes (got ${n})`);
    caps[key] = n;
  }
  return caps;
}

const runtimes = new Map<string, Promise<Runtime>>();

/**
 * The Node GPU runtime for these caps, saying which adapter it uses. One per process and caps:
 * commands run in one process (tests) share its compiled pipelines; each frees what it allocated.
 */
export function gpu(caps: RuntimeCaps = {}): Promise<Runtime> {
  const key = JSON.stringify([caps.maxStorageBufferBindingSize, caps.maxBufferSize]);
  let rt = runtimes.get(key);
  if (!rt) {
    // Kernel choices persist per adapter in the user's cache folder (see `longlora tune`).
    setTuneStore(fileTuneStore());
    rt = createNodeRuntime(log, caps).then((r) => {
      const l = r.info.limits;
      log(
        `GPU: ${r.info.name}${r.info.description ? ` (${r.info.description})` : ''}; ` +
          `binds ${l.maxStorageBufferBindingSize} B, buffers ${l.maxBufferSize} B; ` +
          gpuFeatureWords(r.info.features).join(', '),
      );
      return r;
    });
    runtimes.set(key, rt);
  }
  return rt;
}

/**
 * Tunes the attention (run as `attention`) and matmul kernels of `params` at T tokens where no
 * choice is cached yet (first use on this adapter), saying so; later runs read the cache and time
 * nothing.
 */
export async function tuneKernels(
  rt: Runtime,
  params: LlamaParams,
  T: number,
  attention: AttentionPass,
): Promise<void> {
  const t0 = performance.now();
  const { attention: att, matmul } = await tuneStepKernels(rt, tuneModelOf(params), T, {
    budgetMs: tuneBudgetMs(rt),
    attention,
    onProgress: (p) => {
      if (p.done === 0) log(`tuning kernels for this GPU (${p.total} shape classes) …`);
    },
  });
  // Attention counts as a class where it was timed or remembered (a CPU adapter keeps its rule).
  const choices = [...matmul, ...(att && att.source !== 'default' ? [att] : [])];
  const timed = choices.filter((c) => c.source === 'timed').length;
  if (timed > 0) {
    log(
      `tuned ${timed} of ${choices.length} kernel shape classes in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(cached in ${tuneCachePath()})` +
        (att?.source === 'timed' ? `; attention ${att.choice}` : ''),
    );
  }
}
