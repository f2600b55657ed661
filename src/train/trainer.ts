/**
 * The LongLoRA trainer: AdamW with warmup, gradient accumulation, global-norm clipping, periodic
 * evaluation (full attention) and checkpoints; pause, resume and stop. The same code runs in the
 * Web Worker and the CLI.
 */
import {
  adamwStep,
  adamwStepHostBlocks,
  gradNormSquared,
  type AdamWHyper,
} from '../engine/kernels/optimizer.ts';
import type { Runtime, Tensor } from '../engine/runtime.ts';
import type { LlamaModel } from '../model/llama.ts';
import { attentionProblem } from '../model/longlora.ts';
import { readMoments, writeMoments } from '../model/params.ts';
import { Ema } from '../util/ema.ts';
import { Rng } from '../util/rng.ts';
import { CheckpointError, type CheckpointManifest, type CheckpointStore } from './checkpoint.ts';
import { DataError, type Block, type Dataset } from './data.ts';
import { evaluate } from './evaluate.ts';
import { StepHistory } from './step-history.ts';
import { learningRate, type EvalRecord, type StepRecord, type TrainEvent } from './types.ts';
import { SettingsError } from '../util/errors.ts';
import { firstNumberProblem } from '../util/setting-rules.ts';
import type { PassSettings } from '../model/types.ts';
import { groupOf, ropeFactorOf, type RunSettings } from './settings.ts';

export interface TrainerOptions {
  store?: CheckpointStore;
  modelFingerprint: string;
  modelName: string;
  runId?: string;
  onEvent?: (e: TrainEvent) => void;
  /** Wall clock (injectable for tests). */
  now?: () => number;
}

export class Trainer {
  step = 0;
  /** Every step's record, in columns reserved for the run (see StepHistory). */
  readonly steps: StepHistory;
  readonly evals: EvalRecord[] = [];
  private epoch = 0;
  private index = 0;
  private order: number[] = [];
  private rng: Rng;
  private state: 'idle' | 'running' | 'paused' | 'stopped' | 'done' = 'idle';
  /** When the last checkpoint was written (or the run started), for time-based checkpoints. */
  private lastCheckpointAt = 0;
  private checkpointWanted = false;
  private readonly normOut: Tensor;
  private elapsedMs = 0;
  /** The smoothed loss (bias-corrected EMA, β 0.9). */
  private smooth = new Ema(0.9);
  private stepMs = NaN;
  readonly runId: string;
  /** How every training pass runs attention and positions (the settings' group and factor, resolved). */
  readonly pass: PassSettings;

  constructor(
    readonly rt: Runtime,
    readonly model: LlamaModel,
    readonly data: Dataset,
    readonly settings: RunSettings,
    readonly opts: TrainerOptions,
  ) {
    validateSettings(settings);
    this.pass = {
      pattern: settings.attention,
      group: groupOf(settings),
      ropeFactor: ropeFactorOf(settings, model.shape),
    };
    if (data.train.length === 0) throw new DataError('The dataset has no training blocks.');
    if (data.context !== settings.context) {
      throw new DataError(
        `The dataset was cut at ${data.context} tokens but training is at ${settings.context}.`,
      );
    }
    this.steps = new StepHistory(settings.steps);
    this.rng = new Rng(settings.seed);
    this.order = this.shuffle();
    this.normOut = rt.tensor([1], 'f32', 'workspace', 'grad norm');
    this.runId = opts.runId ?? `run-${settings.seed}-${Date.now().toString(36)}`;
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** Runs optimizer steps until the total is reached, or pause()/stop() is called. */
  async run(): Promise<'done' | 'paused' | 'stopped'> {
    const s = this.settings;
    const now = this.opts.now ?? (() => performance.now());
    this.lastCheckpointAt = now();
    this.setState('running');
    while (this.step < s.steps) {
      if (this.state !== 'running') break;
      const t0 = now();
      const record = await this.optimizerStep();
      const stepMs = now() - t0;
      this.elapsedMs += stepMs;
      // Current speed, smoothed over recent steps (the first step also pays pipeline compilation).
      this.stepMs = Number.isNaN(this.stepMs) ? stepMs : 0.7 * this.stepMs + 0.3 * stepMs;
      record.elapsedMs = this.elapsedMs;
      record.tokensPerSec = (s.context * s.gradAccum) / (this.stepMs / 1000);
      const memory = this.rt.memory.snapshot();
      const host = {
        checkpoints: this.model.hostBytes,
        optimizer: this.model.params.hostMomentBytes,
      };
      record.memory = { current: memory.current, peakTotal: memory.peakTotal, host };
      this.steps.push(record);
      const perStep = this.stepMs;
      this.emit({
        type: 'step',
        record,
        totalSteps: s.steps,
        etaMs: perStep * (s.steps - this.step),
        memory,
      });
      if (s.evalEvery > 0 && this.step % s.evalEvery === 0 && this.data.heldOut.length > 0)
        await this.runEval();
      const minutes = s.checkpointMinutes ?? 0;
      const due =
        (s.checkpointEvery > 0 && this.step % s.checkpointEvery === 0) ||
        (minutes > 0 && now() - this.lastCheckpointAt >= minutes * 60_000) ||
        this.checkpointWanted;
      if (due && this.step < s.steps) await this.checkpoint();
    }
    const state: 'stopped' | 'paused' | 'done' =
      this.state === 'stopped' ? 'stopped' : this.state === 'paused' ? 'paused' : 'done';
    if (state === 'done') {
      if (this.data.heldOut.length > 0 && this.evals.at(-1)?.step !== this.step)
        await this.runEval();
      await this.checkpoint();
    } else if (state === 'stopped') {
      await this.checkpoint();
    }
    this.setState(state);
    return state;
  }

  /** Asks for a checkpoint at the next step boundary (e.g. the page is being hidden). */
  requestCheckpoint(): void {
    this.checkpointWanted = true;
  }

  /** Pauses after the current step. */
  pause(): void {
    if (this.state === 'running') this.state = 'paused';
  }

  /** Stops after the current step (a checkpoint is written). */
  stop(): void {
    if (this.state === 'running' || this.state === 'paused') this.state = 'stopped';
  }

  /** One optimizer step over gradAccum micro-batches. */
  private async optimizerStep(): Promise<StepRecord> {
    const s = this.settings;
    const p = this.model.params;
    const pass = this.pass;
    let lossSum = 0;
    for (let k = 0; k < s.gradAccum; k++) {
      const block = this.nextBlock();
      lossSum += await this.model.forwardBackward(block, pass);
    }
    const loss = lossSum / s.gradAccum;
    gradNormSquared(
      this.rt,
      p.trainables.map((t) => ({ tensor: t.grad, n: t.size })),
      this.normOut,
    );
    const sq = (await this.rt.read(this.normOut))[0]!;
    const gradNorm = Math.sqrt(sq) / s.gradAccum;
    const clipCoef = s.clip > 0 ? Math.min(1, s.clip / (gradNorm + 1e-6)) : 1;
    this.step++;
    const lr = learningRate(s, this.step);
    for (const t of p.trainables) {
      const h: AdamWHyper = {
        lr,
        beta1: s.beta1,
        beta2: s.beta2,
        eps: s.eps,
        weightDecay: t.decay ? s.weightDecay : 0,
        step: this.step,
        gradScale: clipCoef / s.gradAccum,
      };
      // Moments in host memory (the embedding, embedOptimizer 'cpu'): block by block on the CPU.
      if (t.hostMoments)
        await adamwStepHostBlocks(this.rt, t.param, t.grad, t.hostMoments.m, t.hostMoments.v, h);
      else adamwStep(this.rt, t.param, t.grad, t.m, t.v, t.size, h);
    }
    p.zeroGrads();
    const record: StepRecord = {
      step: this.step,
      loss,
      smoothLoss: this.smooth.push(loss),
      lr,
      gradNorm,
      tokensPerSec: 0,
      elapsedMs: 0,
    };
    return record;
  }

  /** Evaluates on the held-out blocks and records it. */
  async runEval(): Promise<EvalRecord> {
    const s = this.settings;
    const r = await evaluate(this.model, this.data.heldOut, this.pass.ropeFactor, s.evalWindows);
    const rec = { step: this.step, loss: r.loss, ppl: r.ppl };
    this.evals.push(rec);
    this.emit({ type: 'eval', record: rec });
    return rec;
  }

  private nextBlock(): Block {
    if (this.index >= this.order.length) {
      this.epoch++;
      this.index = 0;
      this.order = this.shuffle();
    }
    return this.data.train[this.order[this.index++]!]!;
  }

  private shuffle(): number[] {
    const a = this.data.train.map((_, i) => i);
    if (this.settings.order === 'sequential') return a;
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** Writes a checkpoint (when a store is configured). */
  async checkpoint(): Promise<string | null> {
    this.checkpointWanted = false;
    this.lastCheckpointAt = (this.opts.now ?? (() => performance.now()))();
    const store = this.opts.store;
    if (!store) return null;
    const tensors = new Map<string, Float32Array>();
    for (const t of this.model.params.trainables) {
      tensors.set(t.name, await this.rt.read(t.param));
      const { m, v } = await readMoments(this.rt, t);
      tensors.set(`${t.name}#m`, m);
      tensors.set(`${t.name}#v`, v);
    }
    const id = `${this.runId}-step${String(this.step).padStart(6, '0')}`;
    const bytes = await store.save(
      {
        id,
        runId: this.runId,
        step: this.step,
        createdAt: new Date().toISOString(),
        modelFingerprint: this.opts.modelFingerprint,
        modelName: this.opts.modelName,
        settings: this.settings,
        data: { epoch: this.epoch, index: this.index, rngState: this.rng.state, order: this.order },
        metrics: { steps: this.steps.toArray(), evals: this.evals },
      },
      tensors,
      { keep: this.settings.keepCheckpoints ?? 0 },
    );
    this.emit({ type: 'checkpoint', id, step: this.step, bytes });
    return id;
  }

  /** Restores parameters, optimizer state, data position, RNG and metrics from a checkpoint. */
  restore(manifest: CheckpointManifest, tensors: Map<string, Float32Array>): void {
    if (manifest.modelFingerprint !== this.opts.modelFingerprint) {
      throw new CheckpointError(
        `This checkpoint belongs to another base model (${manifest.modelName}).`,
      );
    }
    // Checked whole before anything is written. Moments restore wherever they live (GPU or host).
    const get = (name: string, size: number) => {
      const v = tensors.get(name);
      if (!v)
        throw new CheckpointError(
          `The checkpoint has no ${name}; were the trainable settings changed?`,
        );
      if (v.length !== size)
        throw new CheckpointError(`${name}: ${v.length} values, expected ${size}.`);
      return v;
    };
    for (const t of this.model.params.trainables)
      for (const x of ['', '#m', '#v']) get(t.name + x, t.size);
    for (const t of this.model.params.trainables) {
      this.rt.write(t.param, get(t.name, t.size));
      writeMoments(this.rt, t, get(`${t.name}#m`, t.size), get(`${t.name}#v`, t.size));
    }
    this.step = manifest.step;
    this.epoch = manifest.data.epoch;
    this.index = manifest.data.index;
    this.order = [...manifest.data.order];
    this.rng.state = manifest.data.rngState;
    this.steps.replace(manifest.metrics.steps);
    this.evals.splice(0, this.evals.length, ...manifest.metrics.evals);
    const last = this.steps.at(-1);
    this.elapsedMs = last?.elapsedMs ?? 0;
    this.smooth = Ema.resume(last?.smoothLoss ?? NaN, this.steps.length);
  }

  destroy(): void {
    this.normOut.destroy();
  }

  private setState(state: 'running' | 'paused' | 'stopped' | 'done'): void {
    this.state = state;
    this.emit({ type: 'state', state });
  }

  private emit(e: TrainEvent): void {
    this.opts.onEvent?.(e);
  }
}

/**
 * Checks settings before a run; throws a SettingsError naming what to change: every number within
 * its range (util/setting-rules.ts, as the studio's fields and the CLI's flags check them), and an
 * attention pattern the context allows.
 */
export function validateSettings(s: RunSettings): void {
  const range = firstNumberProblem(s);
  if (range) throw new SettingsError(range);
  const problem = attentionProblem(s.context, s.attention, groupOf(s));
  if (problem) throw new SettingsError(problem);
}
