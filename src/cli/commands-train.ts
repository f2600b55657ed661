/** `longlora train | merge`: LongLoRA fine-tuning from the command line, and merging an adapter. */
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LlamaModel } from '../model/llama.ts';
import {
  loadParams,
  loraSettingsOf,
  mergedConfigJson,
  mergeModel,
  modelFingerprint,
} from '../model/session.ts';
import { defaultTargetContext, exportedRopeScaling, type LoraSettings } from '../model/longlora.ts';
import { CheckpointStore } from '../train/checkpoint.ts';
import { trainedTensorShapes } from '../io/config.ts';
import { numel } from '../io/dtype.ts';
import { AdapterError } from '../io/errors.ts';
import { buildDataset, SEPARATORS, type RenderedExample, type Separator } from '../train/data.ts';
import type { ReadAdapter } from '../io/peft.ts';
import { FolderBlobStore } from '../train/store-node.ts';
import { Trainer } from '../train/trainer.ts';
import { clusterData, clusterFiles, runFiles } from '../train/run-files.ts';
import { cliDefaults, groupOf, loraOf, ropeFactorOf, withLora } from '../train/settings.ts';
import { b, num, parse, req, s, UsageError } from './args.ts';
import {
  BASE_QUANT_OPTION,
  CAP_OPTIONS,
  capsArg,
  checkPlan,
  hostBudgetArg,
  OFFLOAD_OPTION,
  gpu,
  log,
  loraFromArgs,
  settingsFromArgs,
  openModelArg,
  planInputFor,
  readAdapterDir,
  tokenizerOf,
  tuneKernels,
} from './common.ts';

/** `train`: LongLoRA on a text or Alpaca dataset; checkpoints and the adapter go to --out. */
export async function train(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...CAP_OPTIONS,
    ...BASE_QUANT_OPTION,
    ...OFFLOAD_OPTION,
    model: s,
    data: s,
    separator: s,
    out: s,
    context: s,
    attention: s,
    'group-size': s,
    'rope-factor': s,
    rank: s,
    alpha: s,
    targets: s,
    trainable: s,
    lr: s,
    warmup: s,
    schedule: s,
    steps: s,
    'grad-accum': s,
    clip: s,
    seed: s,
    order: s,
    'holdout-blocks': s,
    'chat-template': s,
    'init-adapter': s,
    'eval-every': s,
    'eval-windows': s,
    'checkpoint-every': s,
    'checkpoint-minutes': s,
    'keep-checkpoints': s,
    'no-checkpointing': b,
    'no-tune': b,
    resume: b,
    'log-json': s,
    budget: s,
  });
  const modelPath = req(v, 'model');
  const out = req(v, 'out');
  const m = await openModelArg(modelPath);
  const tok = tokenizerOf(m, modelPath);
  const initDir = typeof v['init-adapter'] === 'string' ? v['init-adapter'] : undefined;
  const init = initDir ? await initAdapterArg(initDir, m, v) : undefined;
  const store = new CheckpointStore(new FolderBlobStore(join(out, 'checkpoints')));
  const fp = modelFingerprint(m);
  // --resume continues the latest checkpoint on the base weights it trained on, unless
  // --base-quant says otherwise.
  const resumed = v.resume ? await latestCheckpoint(store, fp, out) : undefined;
  const defaults = cliDefaults(defaultTargetContext(m.config));
  const given = settingsFromArgs(
    v,
    resumed
      ? {
          ...defaults,
          baseQuant: resumed.manifest.settings.baseQuant,
          offload: resumed.manifest.settings.offload,
        }
      : defaults,
  );
  const settings = init ? withLora(given, loraSettingsOf(init)) : given;
  const context = settings.context;
  const lora = loraOf(settings);
  const factor = ropeFactorOf(settings, m.config);
  // A factor the exported config.json cannot express (e.g. linear on top of llama3) is refused now,
  // not after training.
  try {
    exportedRopeScaling(m.config, factor);
  } catch (e) {
    throw new UsageError(`--rope-factor ${factor}: ${(e as Error).message}`);
  }
  const rt = await gpu(capsArg(v));
  // Refused here, before the data is read or anything is allocated, when the plan cannot run.
  const plan = checkPlan(
    rt,
    v,
    {
      plan: planInputFor(m, lora, context, {
        checkpointing: settings.checkpointing,
        optimizerState: true,
        baseQuant: settings.baseQuant,
      }),
      pattern: settings.attention,
      group: groupOf(settings),
      needsTrainables: true,
      offload: settings.offload,
      hostBudget: hostBudgetArg(v),
    },
    'train',
  );
  const dataPath = req(v, 'data');
  const separator = separatorArg(v);
  const chatTemplate = chatTemplateArg(v);
  const heldOutBlocks = v['holdout-blocks'] === undefined ? undefined : num(v, 'holdout-blocks', 0);
  if (heldOutBlocks !== undefined && heldOutBlocks < 0)
    throw new UsageError(`--holdout-blocks must be 0 or more (got ${heldOutBlocks})`);
  const text = await readFile(dataPath, 'utf8');
  log(`tokenizing ${dataPath} …`);
  const data = buildDataset(dataPath, text, tok, {
    context,
    heldOutFraction: 0.05,
    heldOutBlocks,
    separator,
    vocabSize: m.config.vocabSize,
    chatTemplate,
  });
  const cut = data.separator
    ? ` (separator ${data.separator}${separator ? '' : ', detected'})`
    : '';
  log(
    `${data.format}${cut}: ${data.documents} document${data.documents === 1 ? '' : 's'}, ${data.tokens} tokens → ${data.train.length} training and ` +
      `${data.heldOut.length} held-out blocks of ${context}`,
  );
  if (data.example) logExample(data.example, tok.chat !== undefined);
  await mkdir(out, { recursive: true });
  const jsonLog = typeof v['log-json'] === 'string' ? v['log-json'] : null;
  const params = await loadParams(rt, m, lora, settings.seed, init, undefined, {
    baseQuant: settings.baseQuant,
  });
  if (initDir) log(`starting from the adapter in ${initDir}`);
  if (v['no-tune'] !== true)
    await tuneKernels(rt, params, context, {
      pattern: settings.attention,
      group: groupOf(settings),
    });
  const model = new LlamaModel(rt, params, {
    checkpointing: settings.checkpointing,
    offload: plan.offloaded,
  });
  const trainer = new Trainer(rt, model, data, settings, {
    store,
    modelFingerprint: fp,
    modelName: modelPath,
    onEvent: (e) => {
      if (jsonLog && (e.type === 'step' || e.type === 'eval')) {
        appendFileSync(jsonLog, `${JSON.stringify({ type: e.type, ...e.record })}\n`);
      }
      if (e.type === 'step') {
        const r = e.record;
        console.log(
          `step ${r.step}/${e.totalSteps} loss ${r.loss.toFixed(4)} (smoothed ${r.smoothLoss.toFixed(4)}) ` +
            `lr ${r.lr.toExponential(2)} grad-norm ${r.gradNorm.toFixed(3)} ${r.tokensPerSec.toFixed(0)} tok/s ` +
            `eta ${(e.etaMs / 1000).toFixed(0)} s`,
        );
      } else if (e.type === 'eval') {
        console.log(
          `eval step ${e.record.step}: loss ${e.record.loss.toFixed(4)} ppl ${e.record.ppl.toFixed(3)}`,
        );
      } else if (e.type === 'checkpoint') {
        log(`checkpoint ${e.id} (${(e.bytes / 2 ** 20).toFixed(2)} MiB)`);
      }
    },
  });
  if (resumed) {
    const { manifest, tensors } = resumed;
    trainer.restore(manifest, tensors);
    log(`resumed from ${manifest.id} at step ${manifest.step}`);
  }
  process.once('SIGINT', () => {
    log('stopping after this step (a checkpoint will be written) …');
    trainer.stop();
  });
  const state = await trainer.run();
  const files = await runFiles({
    params,
    opened: m,
    baseModel: modelPath,
    settings,
    ropeFactor: factor,
    baseConfigJson: await baseConfigJson(modelPath),
  });
  trainer.destroy();
  model.destroy();
  params.destroy();
  // cluster/: the run's data in the official scripts' format and run.sh with its settings, as the
  // studio's export has it (export-cluster writes the same from flags alone), naming the base model
  // by its folder's name.
  const cluster = clusterData(data.format, text, () => data.train.map((blk) => blk.ids));
  Object.assign(files, clusterFiles(settings, basename(modelPath), cluster));
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(out, name)), { recursive: true });
    await writeFile(join(out, name), bytes);
  }
  if (files['cluster/run.sh']) await chmod(join(out, 'cluster/run.sh'), 0o755);
  const top = [...new Set(Object.keys(files).map((f) => f.replace(/\/.*$/, '/')))];
  log(`${state}: adapter written to ${out} (${top.join(', ')})`);
  const last = trainer.evals.at(-1);
  if (last) console.log(`final held-out ppl ${last.ppl.toFixed(3)} at step ${last.step}`);
}

/** The newest checkpoint of this model in --out (for --resume); a usage error when there is none. */
async function latestCheckpoint(store: CheckpointStore, fp: string, out: string) {
  const latest = (await store.list()).find((c) => c.modelFingerprint === fp);
  if (!latest)
    throw new UsageError(`--resume: no checkpoint for this model in ${join(out, 'checkpoints')}`);
  return store.load(latest.id, fp);
}

/**
 * `--init-adapter DIR`: an adapter (as `train` writes it) to start from instead of a fresh LoRA init.
 * Its rank, alpha, targets and trained tensors are the run's; --rank, --alpha, --targets or
 * --trainable that say otherwise are refused, as is an adapter whose shapes do not fit the model.
 */
async function initAdapterArg(
  dir: string,
  m: Awaited<ReturnType<typeof openModelArg>>,
  v: Record<string, unknown>,
): Promise<ReadAdapter> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`--init-adapter ${dir}: no such folder`);
  let a: ReadAdapter;
  let lora: LoraSettings;
  try {
    a = await readAdapterDir(dir, m);
    lora = loraSettingsOf(a);
    // What this model's architecture lets LoRA+ train (Qwen3: the q/k norms too).
    const shapes = trainedTensorShapes(m.config, { trainEmbed: true, trainNorm: true });
    for (const t of a.trained) {
      const shape = shapes.get(t.name);
      if (shape === undefined)
        throw new AdapterError(
          'adapter_model.safetensors',
          `it trains ${t.name}, which this studio does not train`,
        );
      const want = numel(shape);
      if (t.data.length !== want)
        throw new AdapterError(
          'adapter_model.safetensors',
          `its ${t.name} has ${t.data.length} values; this model's has ${want} (another model?)`,
        );
    }
  } catch (e) {
    throw new UsageError(`--init-adapter ${dir}: ${(e as Error).message}`);
  }
  const given = loraFromArgs(v);
  const clash = [
    v.rank !== undefined &&
      given.rank !== lora.rank &&
      `--rank ${given.rank} (adapter: ${lora.rank})`,
    v.alpha !== undefined &&
      given.alpha !== lora.alpha &&
      `--alpha ${given.alpha} (adapter: ${lora.alpha})`,
    v.targets !== undefined &&
      given.targets.join(',') !== lora.targets.join(',') &&
      `--targets ${given.targets.join(',')} (adapter: ${lora.targets.join(',')})`,
    v.trainable !== undefined &&
      (given.trainEmbed !== lora.trainEmbed || given.trainNorm !== lora.trainNorm) &&
      `--trainable ${String(v.trainable)} (adapter: ${trainableText(lora)})`,
  ].filter((x): x is string => typeof x === 'string');
  if (clash.length > 0)
    throw new UsageError(
      `--init-adapter ${dir} sets the LoRA settings; these differ from it: ${clash.join('; ')}`,
    );
  return a;
}

function trainableText(l: LoraSettings): string {
  const t = [l.trainEmbed && 'embed', l.trainNorm && 'norm'].filter(Boolean);
  return t.length ? t.join(',') : 'none';
}

/** `--separator none|blank-line|line|eos`; undefined (detected from the text) when absent. */
/** --chat-template model|none: instruction records in the model's chat template (default) or [INST]. */
function chatTemplateArg(v: Record<string, unknown>): boolean {
  const t = v['chat-template'];
  if (t === undefined || t === 'model') return true;
  if (t === 'none') return false;
  throw new UsageError(`--chat-template must be model or none (got ${String(t)})`);
}

/** The first instruction record as the model reads it, the masked prompt between ⟦ ⟧. */
function logExample(ex: RenderedExample, hasTemplate: boolean): void {
  const how =
    ex.format === 'chat-template'
      ? "the model's chat template"
      : `[INST]…[/INST]${hasTemplate ? ' (--chat-template none)' : ' (the model has no chat template)'}`;
  log(
    `prompts in ${how}; the first record, its prompt (${ex.promptTokens} tokens) between ⟦ ⟧ not in the loss, its answer (${ex.answerTokens} tokens) learned:`,
  );
  log(`⟦${ex.prompt}⟧${ex.answer}`);
}

function separatorArg(v: Record<string, unknown>): Separator | undefined {
  const sep = v.separator;
  if (sep === undefined) return undefined;
  if (!SEPARATORS.includes(sep as Separator))
    throw new UsageError(
      `--separator must be one of ${SEPARATORS.join(', ')} (got ${String(sep)})`,
    );
  return sep as Separator;
}

/** `merge`: base + adapter → a full model folder (safetensors in the base dtype, config with rope_scaling). */
export async function merge(argv: string[]): Promise<void> {
  const v = parse(argv, { model: s, adapter: s, out: s });
  const modelPath = req(v, 'model');
  const m = await openModelArg(modelPath);
  const adapter = await readAdapterDir(req(v, 'adapter'), m);
  const out = req(v, 'out');
  const config = mergedConfigJson(m, adapter, await baseConfigJson(modelPath));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'model.safetensors'), await mergeModel(m, adapter));
  await writeFile(join(out, 'config.json'), JSON.stringify(config, null, 2));
  const dir = statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (existsSync(join(dir, f))) await copyFile(join(dir, f), join(out, f));
  }
  log(`merged model written to ${out}`);
}

async function baseConfigJson(modelPath: string): Promise<Record<string, unknown> | undefined> {
  const dir =
    existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  const p = join(dir, 'config.json');
  if (modelPath.endsWith('.gguf') || !existsSync(p)) return undefined;
  return JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
}
