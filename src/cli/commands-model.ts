/** `longlora info | generate | eval | grad`: inspect, run and check a model. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedTensors, parseHfConfig } from '../io/config.ts';
import { numel, type WeightDtype } from '../io/dtype.ts';
import { storedTypes, type OpenedModel } from '../io/model.ts';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { DEFAULT_SAMPLING, generate } from '../model/generate.ts';
import { LlamaModel } from '../model/llama.ts';
import {
  attentionProblem,
  BASE_ONLY,
  defaultTargetContext,
  groupSize,
  ropeFactor,
} from '../model/longlora.ts';
import { BASE_QUANT_LABELS } from '../model/base-quant.ts';
import { OFFLOAD_LABELS } from '../model/offload-setting.ts';
import { budgetWords, DEFAULT_MEMORY_BUDGET } from '../util/memory-budget.ts';
import { formatBytes, formatBytesByType } from '../util/bytes.ts';
import { loraSettingsOf } from '../model/session.ts';
import { evaluate, slidingWindows } from '../train/evaluate.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import { b, num, parse, req, s, UsageError } from './args.ts';
import {
  BASE_QUANT_OPTION,
  baseQuantArg,
  CAP_OPTIONS,
  capsArg,
  attentionArg,
  budgetArg,
  checkPlan,
  gpu,
  hostBudgetArg,
  offloadArg,
  OFFLOAD_OPTION,
  planRun,
  loadWithoutOptimizer,
  log,
  loraFromArgs,
  openModelArg,
  planInputFor,
  planProblems,
  readAdapterDir,
  tokenizerOf,
  tuneKernels,
  type PlannedRun,
} from './common.ts';

/** `info`: architecture, parameters, dtypes, and the planned training memory at a context. */
export async function info(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...CAP_OPTIONS,
    ...BASE_QUANT_OPTION,
    ...OFFLOAD_OPTION,
    model: s,
    context: s,
    json: b,
    budget: s,
    attention: s,
    'group-size': s,
    rank: s,
    alpha: s,
    targets: s,
    trainable: s,
    'no-checkpointing': b,
  });
  const baseQuant = baseQuantArg(v);
  const offload = offloadArg(v);
  const hostBudget = hostBudgetArg(v);
  const m = await openForInfo(req(v, 'model'));
  const c = m.config;
  const context = num(v, 'context', defaultTargetContext(c));
  const given = budgetArg(v);
  const budget = given ?? DEFAULT_MEMORY_BUDGET;
  const lora = loraFromArgs(v);
  const pattern = attentionArg(v, 's2');
  const group = num(v, 'group-size', groupSize(context, pattern));
  const run: PlannedRun = {
    plan: planInputFor(m, lora, context, {
      checkpointing: !v['no-checkpointing'],
      optimizerState: true,
      baseQuant,
    }),
    pattern,
    group,
    needsTrainables: true,
    offload,
    hostBudget,
  };
  // The adapter's limits (lowered by --max-binding-size / --max-buffer-size): what it binds decides
  // how the vocabulary-sized matrices are split and whether every buffer fits.
  const adapter = (await gpu(capsArg(v))).info;
  const limits = adapter.limits;
  const plan = planRun(run, limits, budget);
  const problems = planProblems(run, plan, limits, budget, given !== null);
  const problem = problems.length ? problems.join(' ') : null;
  const stored = storedTypes(m.tensors);
  const quantized = m.tensors.some((t) => t.stored);
  const out = {
    architecture: c.architecture,
    format: m.format,
    dtypes: m.dtypes,
    storedTypes: stored,
    quantized,
    parameters: m.parameterCount,
    config: c,
    context,
    ropeFactor: ropeFactor(context, c),
    attention: pattern,
    group,
    lora,
    baseQuant,
    offload,
    // The adapter and its optional features (shader-f16, subgroups, subgroup matrices and their
    // configurations): the hardware paths tuning may choose.
    adapter: { name: adapter.name, description: adapter.description, features: adapter.features },
    limits,
    plan: {
      ...plan.bytes,
      total: plan.total,
      hostBytes: plan.hostBytes,
      host: plan.host,
      offloaded: plan.offloaded,
      largestBuffer: plan.largestBuffer,
    },
    baseTypes: plan.baseTypes,
    trainableParameters: plan.trainableParams,
    budgetBytes: budget,
    budgetGiB: budget / 2 ** 30,
    hostBudgetBytes: hostBudget.bytes,
    hostBudgetStated: hostBudget.stated,
    fits: problem === null,
    problem,
  };
  if (v.json) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(
    `${c.architecture} (${m.format}, ${m.dtypes.join('/')}) — ${m.parameterCount.toLocaleString()} parameters`,
  );
  console.log(
    `  hidden ${c.hidden}, ${c.layers} layers, ${c.heads} heads (${c.kvHeads} kv, head_dim ${c.headDim}), ` +
      `mlp ${c.intermediate}, vocab ${c.vocabSize}, context ${c.maxPositions}, tied ${c.tieWordEmbeddings}`,
  );
  if (stored.length)
    console.log(
      `  stored as ${stored.map((x) => `${x.type} ${formatBytes(x.bytes)}`).join(' · ')}`,
    );
  if (quantized)
    console.log(
      '  quantized matrices stay in their blocks on the GPU (an embedding LoRA+ trains goes as F32)',
    );
  const modules = lora.targets.map((t) => t.replace(/_proj$/, '')).join(',') || 'nothing';
  const also = [lora.trainEmbed && 'embeddings', lora.trainNorm && 'norms'].filter(Boolean);
  const trained = also.length ? ` + ${also.join(' and ')}` : ', embeddings and norms frozen';
  const attention = pattern === 'full' ? 'full' : `${pattern} group ${group}`;
  console.log(
    `Training plan at ${context} tokens (rope ×${out.ropeFactor}, ${attention}, ` +
      `LoRA r${lora.rank} on ${modules}${trained}):`,
  );
  for (const [k, n] of Object.entries(plan.bytes))
    console.log(`  ${k.padEnd(12)} ${formatBytes(n).padStart(12)}`);
  console.log(`  ${'total'.padEnd(12)} ${formatBytes(plan.total).padStart(12)}  (GPU)`);
  const hostParts = [
    plan.host.checkpoints > 0 &&
      `checkpoints ${formatBytes(plan.host.checkpoints)} (${OFFLOAD_LABELS.checkpoints}${offload === 'auto' ? ', auto' : ''})`,
    plan.host.optimizer > 0 && `embedding optimizer state ${formatBytes(plan.host.optimizer)}`,
  ].filter(Boolean);
  console.log(
    `  ${'host'.padEnd(12)} ${formatBytes(plan.hostBytes).padStart(12)}` +
      (hostParts.length ? `  (${hostParts.join(', ')})` : '') +
      `; host budget ${hostBudget.stated ? formatBytes(hostBudget.bytes) : `an assumed ${formatBytes(hostBudget.bytes)} (${hostBudget.assumed})`}`,
  );
  console.log(
    `  checkpoints kept in ${plan.offloaded ? 'host memory' : 'GPU memory'} (--offload ${offload})`,
  );
  console.log(
    `  base weights on the GPU (${BASE_QUANT_LABELS[baseQuant]}): ${formatBytesByType(plan.baseTypes)}`,
  );
  console.log(`  trainable parameters: ${plan.trainableParams.toLocaleString()}`);
  console.log(
    problem
      ? `Does not fit ${budgetWords(budget, given !== null)}: ${problem}`
      : `Fits in ${budgetWords(budget, given !== null)}.`,
  );
}

/**
 * Opens a model for `info`. A folder holding only config.json (no weights yet) is planned from the
 * config alone, in its torch_dtype.
 */
async function openForInfo(
  path: string,
): Promise<Pick<OpenedModel, 'config' | 'format' | 'dtypes' | 'parameterCount' | 'tensors'>> {
  const cfgPath = join(path, 'config.json');
  const weights =
    existsSync(path) &&
    statSync(path).isDirectory() &&
    readdirSync(path).some((f) => /\.(safetensors|gguf)$/.test(f));
  if (weights || !existsSync(cfgPath)) return openModelArg(path);
  const json = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
  const config = parseHfConfig(json, cfgPath);
  const dtype: WeightDtype =
    json.torch_dtype === 'float32' ? 'F32' : json.torch_dtype === 'float16' ? 'F16' : 'BF16';
  log(`note: ${path} has no weights; planning from config.json (${dtype})`);
  return {
    config,
    format: 'safetensors',
    dtypes: [dtype],
    parameterCount: [...expectedTensors(config).values()].reduce((n, shape) => n + numel(shape), 0),
    tensors: [],
  };
}

/** `generate`: continuation of a prompt (greedy at temperature 0). */
export async function generateCmd(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...CAP_OPTIONS,
    ...BASE_QUANT_OPTION,
    ...OFFLOAD_OPTION,
    model: s,
    adapter: s,
    prompt: s,
    'max-new-tokens': s,
    temperature: s,
    'top-p': s,
    seed: s,
    'rope-factor': s,
    json: b,
  });
  const baseQuant = baseQuantArg(v);
  // Decoding keeps no checkpoints: --offload is accepted (every GPU command takes it) and changes nothing.
  offloadArg(v);
  const path = req(v, 'model');
  const m = await openModelArg(path);
  const tok = tokenizerOf(m, path);
  const adapter = typeof v.adapter === 'string' ? await readAdapterDir(v.adapter, m) : undefined;
  const rt = await gpu(capsArg(v));
  const lora = adapter ? loraSettingsOf(adapter) : { ...BASE_ONLY };
  const params = await loadWithoutOptimizer(rt, m, lora, 0, adapter, baseQuant);
  const model = new LlamaModel(rt, params);
  // As Hugging Face's tokenizer(prompt): BOS first only when the tokenizer adds one.
  const prompt = tok.encode(typeof v.prompt === 'string' ? v.prompt : '');
  if (prompt.length === 0)
    throw new UsageError('--prompt is required: the model has no BOS token to start from');
  const ids = await generate(model, prompt, {
    maxNewTokens: num(v, 'max-new-tokens', 64),
    temperature: num(v, 'temperature', DEFAULT_SAMPLING.temperature),
    topP: num(v, 'top-p', DEFAULT_SAMPLING.topP),
    seed: num(v, 'seed', 0),
    stopId: tok.eosId,
    ropeFactor: num(v, 'rope-factor', adapter?.ropeFactor ?? 1),
  });
  model.destroy();
  params.destroy();
  const text = tok.decode(ids);
  console.log(v.json ? JSON.stringify({ ids, text }) : text);
}

/** `eval`: perplexity with full attention over windows of N tokens. */
export async function evalCmd(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...CAP_OPTIONS,
    ...BASE_QUANT_OPTION,
    ...OFFLOAD_OPTION,
    model: s,
    adapter: s,
    data: s,
    context: s,
    stride: s,
    'max-windows': s,
    'rope-factor': s,
    budget: s,
    json: b,
  });
  const baseQuant = baseQuantArg(v);
  const path = req(v, 'model');
  const m = await openModelArg(path);
  const N = num(v, 'context', 0);
  if (N < 2) throw new UsageError('--context N is required (at least 2)');
  const tok = tokenizerOf(m, path);
  const adapter = typeof v.adapter === 'string' ? await readAdapterDir(v.adapter, m) : undefined;
  const text = await readFile(req(v, 'data'), 'utf8');
  // As Hugging Face's tokenizer(text): BOS first only when the tokenizer adds one (none for Qwen,
  // whose first token is then context only, never a target).
  const tokens = tok.encode(text);
  const windows = slidingWindows(tokens, N, num(v, 'stride', N), num(v, 'max-windows', Infinity));
  if (windows.length === 0)
    throw new UsageError(`The data has ${tokens.length} tokens, fewer than one window of ${N}.`);
  const factor = num(v, 'rope-factor', adapter?.ropeFactor ?? ropeFactor(N, m.config, 'inference'));
  const rt = await gpu(capsArg(v));
  const lora = adapter ? loraSettingsOf(adapter) : { ...BASE_ONLY };
  // Planned as a forward and backward without optimizer state: an upper bound for evaluation.
  checkPlan(
    rt,
    v,
    {
      plan: planInputFor(m, lora, N, { checkpointing: true, optimizerState: false, baseQuant }),
      pattern: 'full',
      group: N,
      needsTrainables: false,
      lower: 'Lower --context',
      offload: offloadArg(v),
      hostBudget: hostBudgetArg(v),
    },
    'eval',
  );
  const params = await loadWithoutOptimizer(rt, m, lora, 0, adapter, baseQuant);
  await tuneKernels(rt, params, N, { pattern: 'full', group: N });
  const model = new LlamaModel(rt, params);
  const r = await evaluate(model, windows, factor, windows.length, (i, n, loss) =>
    log(`window ${i + 1}/${n}: loss ${loss.toFixed(4)}`),
  );
  model.destroy();
  params.destroy();
  const { loss, ppl } = r;
  const out = { windows: r.windows, tokens: r.tokens, context: N, ropeFactor: factor, loss, ppl };
  console.log(
    v.json
      ? JSON.stringify(out)
      : `windows ${out.windows}, loss ${loss.toFixed(4)}, ppl ${out.ppl.toFixed(3)}`,
  );
}

/** `grad`: one forward and backward; writes the loss and every trainable gradient as safetensors. */
export async function gradCmd(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...CAP_OPTIONS,
    ...BASE_QUANT_OPTION,
    ...OFFLOAD_OPTION,
    model: s,
    adapter: s,
    tokens: s,
    context: s,
    attention: s,
    'group-size': s,
    'rope-factor': s,
    targets: s,
    trainable: s,
    rank: s,
    alpha: s,
    seed: s,
    budget: s,
    out: s,
  });
  const baseQuant = baseQuantArg(v);
  const m = await openModelArg(req(v, 'model'));
  const tokens = JSON.parse(await readFile(req(v, 'tokens'), 'utf8')) as unknown;
  if (
    !Array.isArray(tokens) ||
    !tokens.every((t) => Number.isInteger(t) && t >= 0 && t < m.config.vocabSize)
  ) {
    throw new UsageError(`--tokens must be a JSON array of token ids below ${m.config.vocabSize}`);
  }
  const N = num(v, 'context', tokens.length);
  if (tokens.length < N)
    throw new UsageError(`--tokens has ${tokens.length} ids, fewer than --context ${N}`);
  const ids = Uint32Array.from((tokens as number[]).slice(0, N));
  const pattern = attentionArg(v, 's2');
  const group = num(v, 'group-size', groupSize(N, pattern));
  const problem = attentionProblem(N, pattern, group);
  if (problem) throw new UsageError(problem);
  const adapter = typeof v.adapter === 'string' ? await readAdapterDir(v.adapter, m) : undefined;
  const lora = adapter ? loraSettingsOf(adapter) : loraFromArgs(v);
  const rt = await gpu(capsArg(v));
  // One forward and backward: gradients, no AdamW moments; refused before anything is allocated.
  const plan = checkPlan(
    rt,
    v,
    {
      plan: planInputFor(m, lora, N, { checkpointing: true, optimizerState: false, baseQuant }),
      pattern,
      group,
      needsTrainables: true,
      offload: offloadArg(v),
      hostBudget: hostBudgetArg(v),
    },
    'grad',
  );
  const params = await loadWithoutOptimizer(rt, m, lora, num(v, 'seed', 0), adapter, baseQuant);
  const model = new LlamaModel(rt, params, { checkpointing: true, offload: plan.offloaded });
  const labels = Int32Array.from(ids, (_, t) => (t + 1 < N ? ids[t + 1]! : IGNORE_INDEX));
  const t0 = performance.now();
  const loss = await model.forwardBackward(
    { ids, labels },
    { pattern, group, ropeFactor: num(v, 'rope-factor', ropeFactor(N, m.config)) },
  );
  log(`loss ${loss.toFixed(6)} (${pattern}, N ${N}) in ${(performance.now() - t0).toFixed(0)} ms`);
  const tensors: TensorToWrite[] = [
    { name: 'loss', dtype: 'F32' as const, shape: [1], data: new Float32Array([loss]) },
  ];
  for (const t of params.trainables) {
    tensors.push({
      name: `base_model.model.${t.name}`,
      dtype: 'F32',
      shape: [...t.param.shape],
      data: await rt.read(t.grad),
    });
  }
  model.destroy();
  params.destroy();
  await writeFile(req(v, 'out'), writeSafetensors(tensors));
  log(`wrote ${tensors.length - 1} gradients to ${String(v.out)}`);
}
