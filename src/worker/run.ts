/**
 * GPU weights on one runtime, and a training run built on them. A `Run` is complete from the moment
 * it exists: its parameters, graph, trainer, settings and event batcher are all set by `Run.create`,
 * whether it starts fresh or continues a checkpoint.
 */
import type { Runtime } from '../engine/runtime.ts';
import type { OpenedModel } from '../io/model.ts';
import { LlamaModel } from '../model/llama.ts';
import type { LoraSettings } from '../model/longlora.ts';
import { LlamaParams, type LoadOptions } from '../model/params.ts';
import { modelFingerprint, weightSource } from '../model/session.ts';
import type { CheckpointManifest, CheckpointStore } from '../train/checkpoint.ts';
import type { Dataset } from '../train/data.ts';
import { tuneBudgetMs, tuneModelOf, tuneStepKernels } from '../model/tune.ts';
import { stepKernels } from '../model/step-kernels.ts';
import { Trainer } from '../train/trainer.ts';
import { groupOf, loraOf, type RunSettings } from '../train/settings.ts';
import type { StepMemory, StepRecord, TrainEvent } from '../train/types.ts';
import { toWorkerError } from '../util/errors.ts';
import type { RunLock } from '../util/run-lock.ts';
import { EventBatcher } from './batcher.ts';
import type { TrainingEvent } from './protocol.ts';

/** A model's parameters and graph on one runtime. */
export interface Weights {
  readonly rt: Runtime;
  readonly params: LlamaParams;
  readonly model: LlamaModel;
  /** The position-interpolation factor these weights were trained with, if they were. */
  readonly ropeFactor: number | null;
}

/**
 * Uploads `opened` with LoRA `lora` (a fresh adapter: B = 0, so the base model's outputs). Weights
 * for inference unless `optimizerState` is true (a training run): no AdamW moments by default. The
 * base weights as `baseQuant` says (as stored by default).
 */
export async function loadWeights(
  rt: Runtime,
  opened: OpenedModel,
  lora: LoraSettings,
  seed: number,
  opts: LoadOptions = {},
  onTensor?: (name: string, bytes: number) => void,
  /** Training keeps its layer-input checkpoints in the worker's memory (RunSettings.offload). */
  offload = false,
): Promise<Weights> {
  const params = await LlamaParams.load(
    rt,
    opened.config,
    lora,
    weightSource(opened),
    seed,
    onTensor,
    { ...opts, optimizerState: opts.optimizerState ?? false },
  );
  const model = new LlamaModel(rt, params, { checkpointing: true, offload });
  return { rt, params, model, ropeFactor: null };
}

/** Frees what loadWeights allocated. */
export function destroyWeights(w: Weights): void {
  w.model.destroy();
  w.params.destroy();
}

/** What a run needs from the loaded model. */
export interface RunModel {
  opened: OpenedModel;
  name: string;
}

/** A checkpoint to continue from. */
export interface RunResume {
  manifest: CheckpointManifest;
  tensors: Map<string, Float32Array>;
}

/** A training run: weights, trainer and the event stream to the page. */
export class Run implements Weights {
  readonly ropeFactor: number;
  private loop: Promise<void> | null = null;
  private lastCheckpointStep = -1;
  private stopped = false;
  /** Resume was pressed while a pause was still being checkpointed. */
  private continueAfter = false;
  /** The Web Lock that makes this tab the run's owner (released when the run is destroyed). */
  lock: RunLock | null = null;
  private failed = false;

  private constructor(
    readonly rt: Runtime,
    readonly params: LlamaParams,
    readonly model: LlamaModel,
    readonly settings: RunSettings,
    readonly trainer: Trainer,
    private readonly events: EventBatcher,
    private readonly modelName: string,
    private readonly onDeviceLost: () => void,
  ) {
    this.ropeFactor = trainer.pass.ropeFactor;
  }

  /** Builds a run on `rt` (fresh, or from `resume`) and starts it in the background. */
  static async create(args: {
    rt: Runtime;
    model: RunModel;
    data: Dataset;
    settings: RunSettings;
    store: CheckpointStore;
    onEvents: (e: TrainingEvent[]) => unknown;
    onDeviceLost: () => void;
    resume?: RunResume;
    /** The plan keeps the checkpoints in host memory (settings.offload, `auto` resolved by the plan). */
    offload?: boolean;
  }): Promise<Run> {
    const { rt, settings } = args;
    const events = new EventBatcher(args.onEvents);
    const { params, model } = await loadWeights(
      rt,
      args.model.opened,
      loraOf(settings),
      settings.seed,
      { optimizerState: true, baseQuant: settings.baseQuant },
      uploadProgress(args.model.opened, events),
      args.offload ?? settings.offload === 'checkpoints',
    );
    // First use of these shapes on this GPU: time the attention and matmul variants (choices
    // persist in IndexedDB).
    const tuneModel = tuneModelOf(params);
    const attention = { pattern: settings.attention, group: groupOf(settings) };
    const choices = await tuneStepKernels(rt, tuneModel, settings.context, {
      budgetMs: tuneBudgetMs(rt),
      onProgress: (p) => events.push({ type: 'tuning', done: p.done, total: p.total }),
      attention,
    });
    // What each kernel family of a step runs (the GPU panel lists it).
    events.push({
      type: 'kernels',
      kernels: stepKernels(rt, tuneModel, settings.context, choices.matmul, attention),
    });
    // The trainer reports through the run, which exists only once the trainer does.
    let run: Run | null = null;
    const trainer = new Trainer(rt, model, args.data, settings, {
      store: args.store,
      modelFingerprint: modelFingerprint(args.model.opened),
      modelName: args.model.name,
      runId: args.resume?.manifest.runId,
      onEvent: (e) => run?.forward(e),
    });
    run = new Run(rt, params, model, settings, trainer, events, args.model.name, args.onDeviceLost);
    if (args.resume) run.replay(args.resume);
    // A finished run opened again (to evaluate, generate or export it) has no step left to take.
    if (trainer.step >= settings.steps) {
      events.push({ type: 'state', state: 'done' });
      events.flush();
    } else run.start();
    return run;
  }

  get runId(): string {
    return this.trainer.runId;
  }

  /** Whether the trainer is stepping (the GPU is busy). */
  get busy(): boolean {
    return this.loop !== null;
  }

  /**
   * Whether a stepping run is ending by itself: its last step is done (the final evaluation and
   * checkpoint are under way), or it was asked to pause or stop after the current step.
   */
  get ending(): boolean {
    return this.busy && (!this.trainer.isRunning || this.trainer.step >= this.settings.steps);
  }

  /** Whether a run that is not stepping has steps left to take. */
  get canContinue(): boolean {
    return !this.busy && this.trainer.step < this.settings.steps && !this.stopped && !this.failed;
  }

  /** Resolves once the trainer is not stepping (at once when it is not); never rejects. */
  async idle(): Promise<void> {
    await this.loop;
  }

  /** Restores a checkpoint and sends the page the run's settings and stored history. */
  private replay({ manifest, tensors }: RunResume): void {
    const t = this.trainer;
    t.restore(manifest, tensors);
    this.lastCheckpointStep = manifest.step;
    const s = this.settings;
    this.events.push({ type: 'resumed', step: manifest.step, settings: s });
    // Each restored step with the memory measured at it (none for a checkpoint from before memory
    // was recorded: the chart leaves those steps empty rather than show today's numbers).
    for (const r of t.steps) {
      const perStep = r.elapsedMs / Math.max(r.step, 1);
      this.events.push(stepEvent(r, s.steps, perStep * (s.steps - r.step), r.memory ?? null));
    }
    for (const e of t.evals)
      this.events.push({ type: 'eval', step: e.step, loss: e.loss, perplexity: e.ppl });
  }

  /** Continues stepping (a no-op while it already is). */
  start(): void {
    if (!this.loop) this.loop = this.drive();
    // Still writing the checkpoint of a pause: continue once that is done (not a no-op).
    else if (!this.trainer.isRunning) this.continueAfter = true;
  }

  pause(): void {
    this.continueAfter = false;
    this.trainer.pause();
  }

  /** Stops the run; a checkpoint is left (written here when the run was paused). */
  async stop(): Promise<void> {
    this.stopped = true;
    const t = this.trainer;
    if (this.loop) {
      t.stop();
      await this.loop;
      return;
    }
    t.stop();
    if (this.lastCheckpointStep !== t.step) await t.checkpoint();
    this.events.push({ type: 'state', state: 'stopped' });
  }

  destroy(): void {
    this.lock?.release();
    this.lock = null;
    this.trainer.destroy();
    destroyWeights(this);
  }

  /** Runs the trainer until it pauses, stops or finishes; errors go to the page as events. */
  private async drive(): Promise<void> {
    const t = this.trainer;
    try {
      const r = await t.run();
      if (r === 'paused' && this.lastCheckpointStep !== t.step) await t.checkpoint();
    } catch (thrown) {
      this.failed = true;
      const e = await this.rt.causeOf(thrown);
      const error = toWorkerError(e);
      this.events.push({ type: 'error', error });
      this.events.push({ type: 'state', state: 'failed' });
      if (error.kind === 'device-lost') this.onDeviceLost();
    } finally {
      this.loop = null;
      this.model.releaseActivations();
      this.events.flush();
    }
    if (this.continueAfter) {
      this.continueAfter = false;
      if (this.canContinue) this.start();
    }
  }

  private forward(e: TrainEvent): void {
    if (e.type === 'step') {
      // The record's memory: the snapshot's current bytes and peak, and the host memory held.
      const memory = e.record.memory ?? {
        current: e.memory.current,
        peakTotal: e.memory.peakTotal,
      };
      this.events.push(stepEvent(e.record, e.totalSteps, e.etaMs, memory));
    } else if (e.type === 'eval') {
      const r = e.record;
      this.events.push({ type: 'eval', step: r.step, loss: r.loss, perplexity: r.ppl });
    } else if (e.type === 'checkpoint') {
      this.lastCheckpointStep = e.step;
      this.events.push({
        type: 'checkpoint',
        checkpoint: {
          id: e.id,
          runId: this.runId,
          step: e.step,
          createdAt: Date.now(),
          bytes: e.bytes,
          modelName: this.modelName,
          totalSteps: this.settings.steps,
        },
      });
    } else {
      this.events.push({ type: 'state', state: e.state });
    }
  }
}

/** Reports the weights' upload to the page in bytes (the batcher keeps it to a few per second). */
function uploadProgress(
  opened: OpenedModel,
  events: EventBatcher,
): (name: string, bytes: number) => void {
  const bytesTotal = opened.tensors.reduce((n, t) => n + t.byteLength, 0);
  const shardsTotal = opened.tensors.length;
  let bytesDone = 0;
  let shardsDone = 0;
  return (name) => {
    bytesDone += opened.tensors.find((t) => t.name === name)?.byteLength ?? 0;
    shardsDone++;
    const phase = shardsDone >= shardsTotal ? 'done' : 'uploading';
    events.push({
      type: 'loading',
      progress: { phase, bytesDone, bytesTotal, shardsDone, shardsTotal, file: name },
    });
  };
}

function stepEvent(
  r: StepRecord,
  totalSteps: number,
  etaMs: number,
  memory: StepMemory | null,
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
