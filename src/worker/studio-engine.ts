/**
 * The worker's engine state: the runtime (re-created after a device loss), the loaded model and
 * data, and the current job (GPU parameters, graph, trainer). Training runs in the background; its
 * events reach the page in batches through an EventBatcher.
 */
import { DeviceLostError } from '../engine/errors.ts';
import type { Runtime } from '../engine/runtime.ts';
import { generate } from '../model/generate.ts';
import { LlamaModel } from '../model/llama.ts';
import type { LlamaParams } from '../model/params.ts';
import {
  exportAdapter as buildAdapter,
  loadParams,
  mergeModel,
  modelFingerprint,
} from '../model/session.ts';
import { DEFAULT_LORA, defaultRopeFactor, type LoraSettings } from '../model/types.ts';
import { readAdapter, zipFiles } from '../io/peft.ts';
import type { CheckpointStore } from '../train/checkpoint.ts';
import { buildDataset, type Block } from '../train/data.ts';
import { evaluate, Trainer } from '../train/trainer.ts';
import type { StepRecord, TrainEvent, TrainSettings } from '../train/types.ts';
import { EventBatcher } from './batcher.ts';
import { buildPasskeyTrial, passkeyCorrect } from './passkey.ts';
import type {
  CheckpointInfo,
  EvalResult,
  ExportedFile,
  ExportOptions,
  PasskeyResult,
  TrainingEvent,
  TrainingSettings,
  WorkerError,
} from './protocol.ts';
import type { Session } from './session.ts';
import { fromTrainSettings, toTrainSettings } from './settings-map.ts';
import { toWorkerError } from '../util/errors.ts';

/** Windows of held-out text the Evaluate button measures (SwiftShader runs them on the CPU). */
const EVAL_WINDOWS = 4;

interface Job {
  rt: Runtime;
  params: LlamaParams;
  model: LlamaModel;
  lora: LoraSettings;
  /** Set once a run was started or resumed; null for the untrained base (+ zero LoRA). */
  trainer: Trainer | null;
  settings: TrainSettings | null;
  loop: Promise<void> | null;
  events: EventBatcher | null;
  lastCheckpointStep: number;
}

const asWorkerError = (e: unknown): WorkerError => toWorkerError(e);

/** Everything the worker's API methods act on. */
export class StudioEngine {
  readonly session: Session = { model: null, data: null };
  private rt: Promise<Runtime> | null = null;
  private job: Job | null = null;

  constructor(
    private readonly createRuntime: () => Promise<Runtime>,
    readonly store: CheckpointStore,
  ) {}

  /** The runtime, created on first use and again after the device was lost. */
  runtime(): Promise<Runtime> {
    if (!this.rt) {
      const p = this.createRuntime().then((rt) => {
        rt.onDeviceLost(() => {
          if (this.rt === p) this.rt = null;
        });
        return rt;
      });
      p.catch(() => {
        if (this.rt === p) this.rt = null;
      });
      this.rt = p;
    }
    return this.rt;
  }

  /** Forgets the current job (a new model, or a lost device). */
  dropJob(): void {
    const j = this.job;
    this.job = null;
    if (!j) return;
    j.trainer?.destroy();
    j.model.destroy();
    j.params.destroy();
  }

  get busy(): boolean {
    return !!this.job?.loop;
  }

  private assertIdle(what: string): void {
    if (this.busy) throw new Error(`${what} needs the GPU: pause or stop training first.`);
  }

  private model(): NonNullable<Session['model']> {
    const m = this.session.model;
    if (!m) throw new Error('Load a model first.');
    return m;
  }

  /** The loaded data cut at `context` (re-cut from its text when needed). */
  private blocksAt(context: number): { train: Block[]; heldOut: Block[] } {
    const d = this.session.data;
    const tok = this.session.model?.tokenizer;
    if (!d || !tok) throw new Error('Load training data first.');
    if (d.dataset.context === context) return d.dataset;
    return buildDataset(d.name, d.text, tok, { context });
  }

  /** Makes sure session.data is cut at `context` (the trainer checks it). */
  private dataAt(context: number) {
    const d = this.session.data;
    if (!d) throw new Error('Load training data first.');
    if (d.dataset.context !== context) {
      const tok = this.model().tokenizer;
      if (!tok) throw new Error('The model has no tokenizer.');
      d.dataset = buildDataset(d.name, d.text, tok, { context });
    }
    return d.dataset;
  }

  /** GPU parameters for `lora` on the current runtime (a fresh LoRA: B = 0, the base model). */
  private async newJob(lora: LoraSettings, seed: number): Promise<Job> {
    this.dropJob();
    const rt = await this.runtime();
    const params = await loadParams(rt, this.model().opened, lora, seed);
    const model = new LlamaModel(rt, params, { checkpointing: true });
    const job: Job = {
      rt,
      params,
      model,
      lora,
      trainer: null,
      settings: null,
      loop: null,
      events: null,
      lastCheckpointStep: -1,
    };
    this.job = job;
    return job;
  }

  /** The current parameters, or the base model's when nothing was trained. */
  private async currentJob(): Promise<Job> {
    const rt = await this.runtime();
    if (this.job && this.job.rt === rt) return this.job;
    return this.newJob(DEFAULT_LORA, 42);
  }

  private trainer(job: Job, settings: TrainSettings, sink: EventBatcher, runId?: string): Trainer {
    const m = this.model();
    const data = this.dataAt(settings.context);
    return new Trainer(job.rt, job.model, data, settings, {
      store: this.store,
      modelFingerprint: modelFingerprint(m.opened),
      modelName: m.name,
      runId,
      onEvent: (e) => this.forward(job, e),
    });
  }

  /** Starts a new run in the background and returns its id; progress arrives as events. */
  async start(ui: TrainingSettings, onEvents: (e: TrainingEvent[]) => unknown): Promise<string> {
    this.assertIdle('Starting a run');
    const m = this.model();
    if (!m.tokenizer) throw new Error('The model has no tokenizer: training data cannot be read.');
    const settings = toTrainSettings(ui, m.opened.config);
    this.dataAt(settings.context);
    const job = await this.newJob(settings.lora, settings.seed);
    const sink = new EventBatcher(onEvents);
    job.events = sink;
    job.settings = settings;
    job.trainer = this.trainer(job, settings, sink);
    job.loop = this.drive(job);
    return job.trainer.runId;
  }

  /** Restores a checkpoint (refusing another model's) and continues its run. */
  async resumeFrom(id: string, onEvents: (e: TrainingEvent[]) => unknown): Promise<string> {
    this.assertIdle('Resuming');
    const m = this.model();
    const { manifest, tensors } = await this.store.load(id, modelFingerprint(m.opened));
    const settings = manifest.settings;
    this.dataAt(settings.context);
    const job = await this.newJob(settings.lora, settings.seed);
    const sink = new EventBatcher(onEvents);
    job.events = sink;
    job.settings = settings;
    const trainer = this.trainer(job, settings, sink, manifest.runId);
    job.trainer = trainer;
    trainer.restore(manifest, tensors);
    job.lastCheckpointStep = manifest.step;
    // The page starts from the run's history: its settings, then every stored step and eval.
    sink.push({ type: 'resumed', step: manifest.step, settings: fromTrainSettings(settings) });
    const memory = job.rt.memory.snapshot();
    for (const r of trainer.steps) {
      const perStep = r.elapsedMs / Math.max(r.step, 1);
      sink.push(stepEvent(r, settings.steps, perStep * (settings.steps - r.step), memory));
    }
    for (const e of trainer.evals)
      sink.push({ type: 'eval', step: e.step, loss: e.loss, perplexity: e.ppl });
    job.loop = this.drive(job);
    return trainer.runId;
  }

  pause(): void {
    this.job?.trainer?.pause();
  }

  /** Continues a paused run. */
  resume(): void {
    const job = this.job;
    if (!job?.trainer)
      throw new Error('There is no run to resume; start one or pick a checkpoint.');
    if (job.loop) return;
    job.loop = this.drive(job);
  }

  /** Stops the run; a checkpoint is left (written here when the run was paused). */
  async stop(): Promise<void> {
    const job = this.job;
    const t = job?.trainer;
    if (!job || !t) return;
    if (job.loop) {
      t.stop();
      await job.loop;
      return;
    }
    t.stop();
    if (job.lastCheckpointStep !== t.step) await t.checkpoint();
    job.events?.push({ type: 'state', state: 'stopped' });
  }

  /** Runs the trainer until it pauses, stops or finishes; errors go to the page as events. */
  private async drive(job: Job): Promise<void> {
    const t = job.trainer!;
    const sink = job.events!;
    try {
      const r = await t.run();
      if (r === 'paused' && job.lastCheckpointStep !== t.step) await t.checkpoint();
    } catch (thrown) {
      const e = await deviceLossOr(job.rt, thrown);
      sink.push({ type: 'error', error: asWorkerError(e) });
      sink.push({ type: 'state', state: 'failed' });
      if (e instanceof DeviceLostError) {
        job.loop = null;
        this.rt = null;
        if (this.job === job) this.dropJob();
      }
    } finally {
      job.loop = null;
      job.model.releaseActivations();
      sink.flush();
    }
  }

  private forward(job: Job, e: TrainEvent): void {
    const sink = job.events;
    if (!sink) return;
    if (e.type === 'step') {
      sink.push(stepEvent(e.record, e.totalSteps, e.etaMs, e.memory));
    } else if (e.type === 'eval') {
      sink.push({
        type: 'eval',
        step: e.record.step,
        loss: e.record.loss,
        perplexity: e.record.ppl,
      });
    } else if (e.type === 'checkpoint') {
      job.lastCheckpointStep = e.step;
      const info: CheckpointInfo = {
        id: e.id,
        runId: job.trainer?.runId ?? '',
        step: e.step,
        createdAt: Date.now(),
        bytes: e.bytes,
        modelName: this.session.model?.name ?? '',
      };
      sink.push({ type: 'checkpoint', checkpoint: info });
    } else {
      sink.push({ type: 'state', state: e.state });
    }
  }

  /** The rope factor the current adapter was trained with, else the default for `context`. */
  private ropeFactor(job: Job, context: number): number {
    return job.settings?.ropeFactor ?? defaultRopeFactor(context, this.model().opened.config);
  }

  /** Perplexity over held-out windows of `context` tokens, full attention. */
  async evaluate(context: number): Promise<EvalResult> {
    this.assertIdle('Evaluation');
    const { heldOut } = this.blocksAt(context);
    if (heldOut.length === 0)
      throw new Error(`The held-out split has no full window of ${context} tokens.`);
    const job = await this.currentJob();
    try {
      const r = await evaluate(job.model, heldOut, this.ropeFactor(job, context), EVAL_WINDOWS);
      return {
        perplexity: r.ppl,
        loss: r.loss,
        tokens: r.windows * (context - 1),
        windows: r.windows,
        context,
      };
    } finally {
      job.model.releaseActivations();
    }
  }

  /** One passkey trial: greedy decode after a prompt of about `length` tokens; exact match. */
  async passkey(length: number, seed: number): Promise<PasskeyResult> {
    this.assertIdle('The passkey test');
    const tok = this.model().tokenizer;
    if (!tok) throw new Error('The model has no tokenizer.');
    const trial = buildPasskeyTrial(length, seed, (t) => tok.encode(t, { addBos: true }).length);
    const job = await this.currentJob();
    const ids = tok.encode(trial.prompt, { addBos: true });
    const out = await generate(job.model, ids, {
      maxNewTokens: String(trial.key).length + 4,
      temperature: 0,
      topP: 1,
      seed,
      stopId: tok.eosId,
      ropeFactor: this.ropeFactor(job, ids.length),
    });
    const answer = tok.decode(out).trim();
    return {
      length: ids.length,
      passkey: trial.key,
      answer,
      correct: passkeyCorrect(answer, trial.key),
    };
  }

  /** Samples a continuation with the current adapter, streaming text as it decodes. */
  async generate(
    prompt: string,
    maxTokens: number,
    onToken: (t: string) => unknown,
  ): Promise<string> {
    this.assertIdle('Generation');
    const tok = this.model().tokenizer;
    if (!tok) throw new Error('The model has no tokenizer.');
    const job = await this.currentJob();
    const ids = tok.encode(prompt, { addBos: true });
    const out: number[] = [];
    let shown = '';
    await generate(job.model, ids, {
      maxNewTokens: maxTokens,
      temperature: 0.8,
      topP: 0.95,
      seed: Date.now() & 0xffff,
      stopId: tok.eosId,
      ropeFactor: this.ropeFactor(job, ids.length + maxTokens),
      onToken: (id) => {
        out.push(id);
        const text = tok.decode(out);
        if (text.length > shown.length && text.startsWith(shown)) {
          void Promise.resolve(onToken(text.slice(shown.length))).catch(() => undefined);
          shown = text;
        }
      },
    });
    return tok.decode(out);
  }

  /** The adapter .zip (PEFT + LongLoRA files, config with rope_scaling, README), optionally merged. */
  async exportAdapter(o: ExportOptions): Promise<ExportedFile> {
    this.assertIdle('Export');
    const m = this.model();
    const job = this.job;
    if (!job?.trainer || !job.settings || job.rt !== (await this.runtime()))
      throw new Error('Train or resume a run first: there is no trained adapter to export.');
    const s = job.settings;
    const files = await buildAdapter(
      job.params,
      m.opened.config,
      m.name,
      s.ropeFactor,
      s.context,
      m.configJson,
    );
    if (o.merged) {
      const adapter = await readAdapter(files);
      files['merged/model.safetensors'] = await mergeModel(m.opened, adapter);
      files['merged/config.json'] = files['config.json']!;
    }
    const safe = m.name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '');
    return { name: `${safe}-longlora-${s.context}.zip`, bytes: zipFiles(files) };
  }
}

/**
 * A lost device first shows up as whatever the pending call rejected with (a mapAsync aborted, a
 * validation error); the device's `lost` promise settles just after. Waits briefly for it so the
 * page is told the real cause.
 */
async function deviceLossOr(rt: Runtime, e: unknown): Promise<unknown> {
  if (e instanceof DeviceLostError) return e;
  await Promise.race([rt.device.lost, new Promise((r) => setTimeout(r, 1000))]);
  try {
    rt.checkErrors();
  } catch (lost) {
    if (lost instanceof DeviceLostError) return lost;
  }
  return e;
}

function stepEvent(
  r: StepRecord,
  totalSteps: number,
  etaMs: number,
  memory: ReturnType<Runtime['memory']['snapshot']>,
): TrainingEvent {
  return {
    type: 'step',
    step: r.step,
    totalSteps,
    loss: r.loss,
    smoothedLoss: r.smoothLoss,
    lr: r.lr,
    gradNorm: r.gradNorm,
    tokensPerSecond: r.tokensPerSec,
    elapsedMs: r.elapsedMs,
    etaMs,
    memory,
  };
}
