/**
 * The worker's state and the one place each API call is answered: the runtime (re-created after a
 * device loss), the loaded model and data (session.ts), the current training run (run.ts) or, when
 * nothing was trained, the base model's weights for inference (inference.ts).
 */
import type { AdapterSummary } from '../engine/device.ts';
import type { Runtime } from '../engine/runtime.ts';
import { ropeInvFreq } from '../engine/kernels/rope.ts';
import {
  ggufRope,
  loraAdapterGguf,
  mergedGguf,
  streamGguf,
  tokenizerKvs,
  type GgufExport,
} from '../io/gguf-export.ts';
import { readAdapter, zipFiles } from '../io/peft.ts';
import type { ByteSource } from '../io/source.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import type { BaseQuant } from '../model/base-quant.ts';
import { BASE_ONLY, ropeFactor } from '../model/longlora.ts';
import type { LlamaParams } from '../model/params.ts';
import { exportAdapter as buildAdapter, modelFingerprint } from '../model/session.ts';
import { CheckpointError, type CheckpointStore } from '../train/checkpoint.ts';
import { runFiles } from '../train/run-files.ts';
import { loraOf, ropeFactorOf } from '../train/settings.ts';
import { BusyError, NotReadyError, SettingsError } from '../util/errors.ts';
import { firstNumberProblem, numberProblem, NUMBER_RULES } from '../util/setting-rules.ts';
import { lockRun, type RunLock } from '../util/run-lock.ts';
import { heldOutPerplexity, passkeyTrial, sample } from './inference.ts';
import type {
  CheckpointInfo,
  DataSeparator,
  DataSummary,
  EvalResult,
  ExportedFile,
  ExportOptions,
  GgufExportOptions,
  GgufExportResult,
  LoadProgress,
  MemoryPlan,
  ModelSummary,
  PasskeyResult,
  TrainingEvent,
  RunSettings,
} from './protocol.ts';
import { destroyWeights, loadWeights, Run, type RunResume, type Weights } from './run.ts';
import {
  cutData,
  recutData,
  dataSummary,
  loadData,
  modelSummary,
  openSession,
  planFor,
  type LoadedModel,
  type Session,
} from './session.ts';

type Progress = (p: LoadProgress) => void;
type Events = (e: TrainingEvent[]) => unknown;

/** A fresh seed for sampled generation (each Generate press differs). */
function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Everything the worker's API methods act on. */
export class StudioEngine {
  readonly session: Session = { model: null, data: null };
  private rt: Promise<Runtime> | null = null;
  /** The current run, or the base model's weights (inference before any training), or nothing. */
  private weights: Run | Weights | null = null;
  /**
   * The base quantization of the settings the page last planned (it plans on every change): what
   * the base model's weights for inference are uploaded with, as a run's would be.
   */
  private baseQuant: BaseQuant = 'none';
  /** The GPU memory the page last planned against (null: the assumed default): `auto` offload reads it. */
  private budgetBytes: number | null = null;
  /** The base quantization the base model's weights in `weights` were uploaded with. */
  private weightsQuant: BaseQuant = 'none';

  constructor(
    private readonly createRuntime: () => Promise<Runtime>,
    readonly store: CheckpointStore,
  ) {}

  /** The runtime, created on first use and again after the device was lost. */
  runtime(): Promise<Runtime> {
    if (!this.rt) {
      const p = this.createRuntime().then((rt) => {
        rt.onDeviceLost(() => this.forgetRuntime(p));
        return rt;
      });
      p.catch(() => this.forgetRuntime(p));
      this.rt = p;
    }
    return this.rt;
  }

  async adapter(): Promise<AdapterSummary> {
    return (await this.runtime()).info;
  }

  private forgetRuntime(p: Promise<Runtime>): void {
    if (this.rt !== p) return;
    this.rt = null;
    this.dropWeights();
  }

  /** Frees the run or base weights (a new model, a new run, or a lost device). */
  private dropWeights(): void {
    const w = this.weights;
    this.weights = null;
    if (w instanceof Run) w.destroy();
    else if (w) destroyWeights(w);
  }

  private get run(): Run | null {
    return this.weights instanceof Run ? this.weights : null;
  }

  get busy(): boolean {
    return !!this.run?.busy;
  }

  private assertIdle(what: string): void {
    if (this.busy) throw new BusyError(`${what} needs the GPU: pause or stop training first.`);
  }

  /** GPU actions, one at a time, in the order asked. */
  private gpuQueue: Promise<unknown> = Promise.resolve();
  /** Counts the person's own pauses and stops (a run they paused is not continued for them). */
  private userHolds = 0;

  /**
   * Runs a GPU action once the GPU is free instead of refusing it: a run that is ending by itself
   * (its last step done, its evaluation and checkpoint under way) is waited for; a running one
   * pauses after its current step and continues when the action is done, unless the person paused
   * or stopped it meanwhile.
   */
  private withGpu<T>(action: () => Promise<T>): Promise<T> {
    const turn = this.gpuQueue.then(async () => {
      const run = this.run;
      const holds = this.userHolds;
      let continueAfter = false;
      if (run?.busy) {
        continueAfter = !run.ending;
        if (continueAfter) run.pause();
        await run.idle();
      }
      try {
        return await action();
      } finally {
        if (continueAfter && this.run === run && this.userHolds === holds && run!.canContinue)
          run!.start();
      }
    });
    this.gpuQueue = turn.catch(() => undefined);
    return turn;
  }

  private model(): LoadedModel {
    const m = this.session.model;
    if (!m) throw new NotReadyError('Load a model first.');
    return m;
  }

  private tokenizer(): Tokenizer {
    const tok = this.model().tokenizer;
    if (!tok)
      throw new NotReadyError(
        'The model has no tokenizer (tokenizer.json or a GGUF vocabulary): text cannot be read or written.',
      );
    return tok;
  }

  /** Opens a model (replacing the current one and its data). */
  async loadModel(
    sources: ByteSource[],
    onProgress: Progress,
    name?: string,
  ): Promise<ModelSummary> {
    if (this.busy) throw new BusyError('Stop the run before loading another model.');
    const model = await openSession(sources, onProgress, name);
    this.dropWeights();
    this.session.model = model;
    this.session.data = null;
    return modelSummary(model);
  }

  /** Reads and tokenizes training data, cut into blocks of `context` tokens. */
  async loadData(source: ByteSource, context: number, onProgress: Progress): Promise<DataSummary> {
    this.session.data = await loadData(this.session, source, context, onProgress);
    return dataSummary(this.session.data);
  }

  /** The loaded data cut at `context` (left as it is while a run uses it). */
  dataAtContext(context: number): DataSummary {
    const d = this.session.data;
    if (!d) throw new NotReadyError('No training data is loaded.');
    if (!this.busy) cutData(this.session, context);
    return dataSummary(d);
  }

  /** The loaded text cut into documents at `separator` (refused while a run uses the data). */
  setDataSeparator(separator: DataSeparator, context: number): DataSummary {
    const d = this.session.data;
    if (!d) throw new NotReadyError('No training data is loaded.');
    if (this.busy) throw new BusyError('Stop the run before changing how the data is cut.');
    recutData(this.session, separator, context);
    return dataSummary(d);
  }

  async planMemory(settings: RunSettings, budgetBytes: number | null): Promise<MemoryPlan> {
    const problem = firstNumberProblem(settings);
    if (problem) throw new SettingsError(problem);
    this.baseQuant = settings.baseQuant;
    this.budgetBytes = budgetBytes;
    return planFor(this.session, await this.adapter(), settings, budgetBytes);
  }

  async listCheckpoints(): Promise<CheckpointInfo[]> {
    return (await this.store.list()).map((c) => ({
      id: c.id,
      runId: c.runId,
      step: c.step,
      createdAt: Date.parse(c.createdAt),
      bytes: c.bytes,
      modelName: c.modelName,
      totalSteps: c.totalSteps,
    }));
  }

  /** Starts a new run in the background and returns its id; progress arrives as events. */
  async start(ui: RunSettings, onEvents: Events): Promise<string> {
    this.assertIdle('Starting a run');
    // The same ranges the studio's fields and the CLI's flags check (a page may send anything).
    const problem = firstNumberProblem(ui);
    if (problem) throw new SettingsError(problem);
    this.tokenizer();
    return this.begin(ui, onEvents);
  }

  /**
   * Restores a checkpoint (refusing another model's) and continues its run; `steps` sets a new total
   * (to train a finished run further). A run with no step left opens as done.
   */
  async resumeFrom(id: string, onEvents: Events, steps?: number): Promise<string> {
    this.assertIdle('Resuming');
    const resume = await this.store.load(id, modelFingerprint(this.model().opened));
    const m = resume.manifest;
    if (steps !== undefined) {
      const problem = numberProblem(NUMBER_RULES.steps, steps);
      if (problem) throw new SettingsError(problem);
      if (steps <= m.step)
        throw new SettingsError(
          `The run is at step ${m.step}: train it further to more than ${m.step} steps (got ${steps}).`,
        );
      m.settings = { ...m.settings, steps };
    }
    return this.begin(m.settings, onEvents, resume);
  }

  private async begin(
    settings: Run['settings'],
    onEvents: Events,
    resume?: RunResume,
  ): Promise<string> {
    const data = cutData(this.session, settings.context);
    // Continuing a run needs its Web Lock: another tab training it keeps it (this tab's own run
    // hands its lock on).
    let lock: RunLock | null = null;
    if (resume) {
      const { runId, modelName, step } = resume.manifest;
      const own = this.run;
      if (own?.runId === runId && own.lock) {
        lock = own.lock;
        own.lock = null;
      } else {
        lock = await lockRun(runId);
        if (!lock)
          throw new BusyError(
            `The run ${runId} (${modelName}, saved at step ${step}) is training in another tab of this studio: continue it there, or close that tab first. Its checkpoints stay listed here.`,
          );
      }
    }
    this.dropWeights();
    const runtime = this.runtime();
    let run: Run;
    try {
      run = await Run.create({
        rt: await runtime,
        model: this.model(),
        data,
        settings,
        store: this.store,
        onEvents,
        onDeviceLost: () => this.forgetRuntime(runtime),
        resume,
        offload: planFor(this.session, await this.adapter(), settings, this.budgetBytes).offloaded,
      });
    } catch (e) {
      lock?.release();
      throw e;
    }
    run.lock = lock ?? (await lockRun(run.runId));
    this.weights = run;
    return run.runId;
  }

  pause(): void {
    this.userHolds++;
    this.run?.pause();
  }

  /** Continues a paused run. */
  resume(): void {
    const run = this.run;
    if (!run) throw new NotReadyError('There is no run to resume; start one or pick a checkpoint.');
    run.start();
  }

  /** Asks the running run for a checkpoint at its next step boundary (the page is being hidden). */
  checkpointSoon(): void {
    if (this.run?.busy) this.run.trainer.requestCheckpoint();
  }

  /** Stops the run; a checkpoint is left. */
  async stop(): Promise<void> {
    this.userHolds++;
    await this.run?.stop();
  }

  /**
   * The run's weights, or the base model's when nothing was trained on this runtime (uploaded again
   * when the settings' base quantization changed since).
   */
  private async current(): Promise<Weights> {
    const rt = await this.runtime();
    const w = this.weights;
    if (w && w.rt === rt && (w instanceof Run || this.weightsQuant === this.baseQuant)) return w;
    this.dropWeights();
    const baseQuant = this.baseQuant;
    this.weights = await loadWeights(rt, this.model().opened, { ...BASE_ONLY }, 0, { baseQuant });
    this.weightsQuant = baseQuant;
    return this.weights;
  }

  /** The factor the current weights were trained with, else the default for `tokens`. */
  private ropeFactorAt(w: Weights): (tokens: number) => number {
    const config = this.model().opened.config;
    return (tokens) => w.ropeFactor ?? ropeFactor(tokens, config, 'inference');
  }

  /** Perplexity over held-out windows of `context` tokens, full attention. */
  evaluate(context: number): Promise<EvalResult> {
    return this.withGpu(() => this.evaluateNow(context));
  }

  private async evaluateNow(context: number): Promise<EvalResult> {
    const { heldOut } = cutData(this.session, context, { keep: false });
    const w = await this.current();
    return heldOutPerplexity(w, heldOut, context, this.ropeFactorAt(w)(context));
  }

  passkey(length: number, seed: number): Promise<PasskeyResult> {
    return this.withGpu(() => this.passkeyNow(length, seed));
  }

  private async passkeyNow(length: number, seed: number): Promise<PasskeyResult> {
    const w = await this.current();
    return passkeyTrial(w, this.tokenizer(), length, seed, this.ropeFactorAt(w));
  }

  generate(prompt: string, maxTokens: number, onText: (t: string) => unknown) {
    return this.withGpu(() => this.generateNow(prompt, maxTokens, onText));
  }

  private async generateNow(prompt: string, maxTokens: number, onText: (t: string) => unknown) {
    const w = await this.current();
    const tok = this.tokenizer();
    return sample(w, tok, prompt, maxTokens, freshSeed(), this.ropeFactorAt(w), onText);
  }

  /** The adapter .zip (PEFT + LongLoRA files, config with rope_scaling, README), optionally merged. */
  exportAdapter(o: ExportOptions): Promise<ExportedFile> {
    return this.withGpu(() => this.exportAdapterNow(o));
  }

  private async exportAdapterNow(o: ExportOptions): Promise<ExportedFile> {
    this.model();
    const run = this.run;
    if (!run || run.rt !== (await this.runtime()))
      throw new NotReadyError(
        'Train or resume a run first: there is no trained adapter to export.',
      );
    return this.adapterZip(run.params, run.settings, run.ropeFactor, o);
  }

  /**
   * A committed checkpoint's adapter .zip, read from storage only: no run is started or replaced
   * and no run's Web Lock is taken, so a second tab can export a run that another tab is training.
   * The stored LoRA (and LoRA+) tensors are put on a model uploaded for the export and freed after.
   */
  exportCheckpoint(id: string, o: ExportOptions): Promise<ExportedFile> {
    return this.withGpu(() => this.exportCheckpointNow(id, o));
  }

  private async exportCheckpointNow(id: string, o: ExportOptions): Promise<ExportedFile> {
    const m = this.model();
    if ((await this.store.blobs.getManifest(id)) === undefined)
      throw new CheckpointError(
        'That checkpoint was deleted meanwhile (a run keeps only its newest checkpoints): export one that is still listed.',
      );
    const { manifest, tensors } = await this.store.load(id, modelFingerprint(m.opened));
    const s = manifest.settings;
    const w = await loadWeights(await this.runtime(), m.opened, loraOf(s), s.seed, {
      baseQuant: s.baseQuant,
    });
    try {
      for (const t of w.params.trainables) {
        const v = tensors.get(t.name);
        if (!v)
          throw new CheckpointError(
            `Checkpoint ${id} has no ${t.name}: it cannot be exported with its own settings.`,
          );
        w.params.setTrainable(t.name, v);
      }
      const file = await this.adapterZip(w.params, s, ropeFactorOf(s, m.opened.config), o);
      return { ...file, name: file.name.replace(/\.zip$/, `-step${manifest.step}.zip`) };
    } finally {
      destroyWeights(w);
    }
  }

  /** The adapter .zip of `params` trained with `s` (cluster/ when the loaded data fits the run). */
  private async adapterZip(
    params: LlamaParams,
    s: RunSettings,
    factor: number,
    o: ExportOptions,
  ): Promise<ExportedFile> {
    const m = this.model();
    const d = this.session.data;
    const files = await runFiles({
      params,
      opened: m.opened,
      baseModel: m.name,
      settings: s,
      ropeFactor: factor,
      baseConfigJson: m.configJson,
      data: d ? { dataset: d.dataset, text: d.text } : undefined,
      merged: o.merged,
    });
    const safe = m.name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '');
    return { name: `${safe}-longlora-${s.context}.zip`, bytes: zipFiles(files) };
  }

  /**
   * The trained run as a GGUF (merged, or a LoRA adapter GGUF), streamed through `write`; waits for
   * the GPU like the adapter's export (a running run pauses for it and continues after).
   */
  async exportGguf(
    o: GgufExportOptions,
    write: (chunk: Uint8Array) => Promise<void>,
    onProgress: (written: number, total: number) => void,
  ): Promise<GgufExportResult> {
    return this.withGpu(() => this.exportGgufNow(o, write, onProgress));
  }

  private async exportGgufNow(
    o: GgufExportOptions,
    write: (chunk: Uint8Array) => Promise<void>,
    onProgress: (written: number, total: number) => void,
  ): Promise<GgufExportResult> {
    const m = this.model();
    const run = this.run;
    if (!run || run.rt !== (await this.runtime()))
      throw new NotReadyError(
        'Train or resume a run first: there is no trained adapter to export as GGUF.',
      );
    const s = run.settings;
    const c = m.opened.config;
    const adapter = await readAdapter(
      await buildAdapter(run.params, c, m.name, run.ropeFactor, s.context, m.configJson),
    );
    const safe = m.name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '');
    let exp: GgufExport;
    if (o.kind === 'lora') {
      exp = loraAdapterGguf(c, adapter, `${safe}-longlora-lora`);
    } else {
      exp = mergedGguf({
        model: m.opened,
        adapter,
        dtype: o.dtype,
        // The trained context, or the native one when training stayed below it.
        contextLength: Math.max(s.context, c.maxPositions),
        rope: ggufRope(c, run.ropeFactor, (f, l3) => ropeInvFreq(c.headDim, c.ropeTheta, f, l3)),
        name: `${safe}-longlora`,
        tokenizer: tokenizerKvs(m.opened.tokenizer, c),
      });
    }
    await streamGguf(exp, write, onProgress);
    const name =
      o.kind === 'lora'
        ? `${safe}-longlora-${s.context}-lora.gguf`
        : `${safe}-longlora-${s.context}-${o.dtype}.gguf`;
    return { name, bytes: exp.fileBytes };
  }
}
