/** `longlora info | generate | eval | grad`: inspect, run and check a model. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedTensors, parseHfConfig } from '../io/config.ts';
import { numel, type WeightDtype } from '../io/dtype.ts';
import type { OpenedModel } from '../io/model.ts';
import { totalBytes } from '../engine/memory.ts';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { generate } from '../model/generate.ts';
import { LlamaModel } from '../model/llama.ts';
import { planProblem, planTraining } from '../model/plan.ts';
import { loadParams, loraSettingsOf } from '../model/session.ts';
import { defaultRopeFactor, type AttentionPattern, type LoraSettings } from '../model/types.ts';
import { b, num, parse, req, s, UsageError } from './args.ts';
import { gpu, log, loraFromArgs, openModelArg, readAdapterDir, tokenizerOf } from './common.ts';

const NO_LORA: LoraSettings = {
  rank: 1,
  alpha: 1,
  targets: [],
  trainEmbed: false,
  trainNorm: false,
};

/** `info`: architecture, parameters, dtypes, and the planned training memory at a context. */
export async function info(argv: string[]): Promise<void> {
  const v = parse(argv, { model: s, context: s, json: b, budget: s });
  const m = await openForInfo(req(v, 'model'));
  const c = m.config;
  const context = num(v, 'context', 4 * c.maxPositions, true);
  const budgetGb = num(v, 'budget', 8);
  const lora = loraFromArgs({});
  const weightBytes = m.dtypes.includes('F32') ? 4 : 2;
  const plan = planTraining({ shape: c, weightBytes, lora, context, checkpointing: true });
  const problem = planProblem(
    plan,
    { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 },
    budgetGb * 1e9,
  );
  const out = {
    architecture: c.architecture,
    format: m.format,
    dtypes: m.dtypes,
    parameters: m.parameterCount,
    config: c,
    context,
    ropeFactor: defaultRopeFactor(context, c),
    group: context / 4,
    plan: { ...plan.bytes, total: plan.total, largestBuffer: plan.largestBuffer },
    trainableParameters: plan.trainableParams,
    budgetBytes: budgetGb * 1e9,
    fits: problem === null,
    problem,
  };
  if (v.json) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `${c.architecture} (${m.format}, ${m.dtypes.join('/')}) — ${m.parameterCount.toLocaleString()} parameters`,
  );
  console.log(
    `  hidden ${c.hidden}, ${c.layers} layers, ${c.heads} heads (${c.kvHeads} kv, head_dim ${c.headDim}), ` +
      `mlp ${c.intermediate}, vocab ${c.vocabSize}, context ${c.maxPositions}, tied ${c.tieWordEmbeddings}`,
  );
  console.log(
    `Training plan at ${context} tokens (rope ×${out.ropeFactor}, group ${out.group}, LoRA+ r8 on q,k,v,o):`,
  );
  for (const [k, n] of Object.entries(plan.bytes))
    console.log(`  ${k.padEnd(12)} ${mb(n).padStart(12)}`);
  console.log(`  ${'total'.padEnd(12)} ${mb(totalBytes(plan.bytes)).padStart(12)}`);
  console.log(`  trainable parameters: ${plan.trainableParams.toLocaleString()}`);
  console.log(problem ? `Does not fit ${budgetGb} GB: ${problem}` : `Fits in ${budgetGb} GB.`);
}

/**
 * Opens a model for `info`. A folder holding only config.json (no weights yet) is planned from the
 * config alone, in its torch_dtype.
 */
async function openForInfo(
  path: string,
): Promise<Pick<OpenedModel, 'config' | 'format' | 'dtypes' | 'parameterCount'>> {
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
  };
}

/** `generate`: continuation of a prompt (greedy at temperature 0). */
export async function generateCmd(argv: string[]): Promise<void> {
  const v = parse(argv, {
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
  const path = req(v, 'model');
  const m = await openModelArg(path);
  const tok = tokenizerOf(m, path);
  const adapter = typeof v.adapter === 'string' ? await readAdapterDir(v.adapter, m) : undefined;
  const rt = await gpu();
  const params = await loadParams(rt, m, adapter ? loraSettingsOf(adapter) : NO_LORA, 0, adapter);
  const model = new LlamaModel(rt, params);
  const prompt = tok.encode(typeof v.prompt === 'string' ? v.prompt : '');
  const ids = await generate(model, prompt, {
    maxNewTokens: num(v, 'max-new-tokens', 64, true),
    temperature: num(v, 'temperature', 0.8),
    topP: num(v, 'top-p', 0.9),
    seed: num(v, 'seed', 0, true),
    stopId: tok.eosId,
    ropeFactor: num(v, 'rope-factor', adapter?.ropeFactor ?? 1),
  });
  model.destroy();
  params.destroy();
  const text = tok.decode(ids);
  console.log(v.json ? JSON.stringify({ ids, text }) : text);
}

/** Token windows with HF sliding-window labels: positions already scored by the previous window are ignored. */
export function evalWindows(tokens: number[], N: number, stride: number, maxWindows: number) {
  const windows: { ids: Uint32Array; labels: Int32Array }[] = [];
  let prevEnd = 0;
  for (let start = 0; start + N <= tokens.length && windows.length < maxWindows; start += stride) {
    const ids = Uint32Array.from(tokens.slice(start, start + N));
    const labels = new Int32Array(N);
    for (let t = 0; t < N; t++) {
      const target = start + t + 1;
      labels[t] = t === N - 1 || target < prevEnd ? -100 : tokens[target]!;
    }
    prevEnd = start + N;
    windows.push({ ids, labels });
  }
  return windows;
}

/** `eval`: perplexity with full attention over windows of N tokens. */
export async function evalCmd(argv: string[]): Promise<void> {
  const v = parse(argv, {
    model: s,
    adapter: s,
    data: s,
    context: s,
    stride: s,
    'max-windows': s,
    'rope-factor': s,
    json: b,
  });
  const path = req(v, 'model');
  const m = await openModelArg(path);
  const N = num(v, 'context', 0, true);
  if (N < 2) throw new UsageError('--context N is required (at least 2)');
  const tok = tokenizerOf(m, path);
  const adapter = typeof v.adapter === 'string' ? await readAdapterDir(v.adapter, m) : undefined;
  const text = await readFile(req(v, 'data'), 'utf8');
  const tokens = tok.encode(text, { addBos: true });
  const windows = evalWindows(
    tokens,
    N,
    num(v, 'stride', N, true),
    num(v, 'max-windows', Infinity, true),
  );
  if (windows.length === 0)
    throw new UsageError(`The data has ${tokens.length} tokens, fewer than one window of ${N}.`);
  const ropeFactor = num(v, 'rope-factor', adapter?.ropeFactor ?? defaultRopeFactor(N, m.config));
  const rt = await gpu();
  const params = await loadParams(rt, m, adapter ? loraSettingsOf(adapter) : NO_LORA, 0, adapter);
  const model = new LlamaModel(rt, params);
  let sum = 0;
  let count = 0;
  for (const [i, w] of windows.entries()) {
    const r = await model.loss(w, { pattern: 'full', group: N, ropeFactor });
    sum += r.loss * r.count;
    count += r.count;
    log(`window ${i + 1}/${windows.length}: loss ${r.loss.toFixed(4)}`);
  }
  const loss = sum / count;
  const out = {
    windows: windows.length,
    tokens: count,
    context: N,
    ropeFactor,
    loss,
    ppl: Math.exp(loss),
  };
  console.log(
    v.json
      ? JSON.stringify(out)
      : `windows ${out.windows}, loss ${loss.toFixed(4)}, ppl ${out.ppl.toFixed(3)}`,
  );
}

/** `grad`: one forward and backward; writes the loss and every trainable gradient as safetensors. */
export async function gradCmd(argv: string[]): Promise<void> {
  const v = parse(argv, {
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
    out: s,
  });
  const m = await openModelArg(req(v, 'model'));
  const tokens = JSON.parse(await readFile(req(v, 'tokens'), 'utf8')) as unknown;
  if (
    !Array.isArray(tokens) ||
    !tokens.every((t) => Number.isInteger(t) && t >= 0 && t < m.config.vocabSize)
  ) {
    throw new UsageError(`--tokens must be a JSON array of token ids below ${m.config.vocabSize}`);
  }
  const N = num(v, 'context', tokens.length, true);
  if (tokens.length < N)
    throw new UsageError(`--tokens has ${tokens.length} ids, fewer than --context ${N}`);
  const ids = Uint32Array.from((tokens as number[]).slice(0, N));
  const pattern = (typeof v.attention === 'string' ? v.attention : 's2') as AttentionPattern;
  if (!['full', 's2', 's2roll'].includes(pattern))
    throw new UsageError('--attention must be full, s2 or s2roll');
  const group = num(v, 'group-size', N / 4, true);
  if (pattern !== 'full' && (N % group !== 0 || group % 2 !== 0)) {
    throw new UsageError(
      `--context ${N} must be a multiple of an even --group-size (got ${group})`,
    );
  }
  const adapter = typeof v.adapter === 'string' ? await readAdapterDir(v.adapter, m) : undefined;
  const lora = adapter ? loraSettingsOf(adapter) : loraFromArgs(v);
  const rt = await gpu();
  const params = await loadParams(rt, m, lora, num(v, 'seed', 0, true), adapter);
  const model = new LlamaModel(rt, params);
  const labels = Int32Array.from(ids, (_, t) => (t + 1 < N ? ids[t + 1]! : -100));
  const t0 = performance.now();
  const loss = await model.forwardBackward(
    { ids, labels },
    { pattern, group, ropeFactor: num(v, 'rope-factor', defaultRopeFactor(N, m.config)) },
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
