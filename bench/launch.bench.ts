/**
 * Launch overhead (issue 28 item 2): the host (JS) time Runtime.dispatch spends per dispatch in a
 * real training step (the Trainer's: forward, backward, gradient norm, AdamW), split by phase from
 * Runtime.hostProfile — the pending-error and binding checks, the pipeline lookup, staging the
 * Params in the uniform arena, the bind group (created, or reused from the bind-group cache), and
 * encoding into the pass — with the bind-group cache off (every dispatch creates its bind group, as
 * before the cache) and on; and the uniform arena's traffic: Params bytes written to the GPU per
 * step and the share of dispatches whose Params were already in the content-addressed arena
 * (uniform-arena.ts; before it, every dispatch's Params were written at every submit, about 256
 * bytes each, one slot per dispatch). The model is SmolLM2-135M's width (576 hidden, 1,536 MLP, 9 heads over
 * 3, head_dim 64) with 2 layers, random bf16 weights, a 4,096-token vocabulary (the launch count
 * does not depend on it; the LM head's time on a CPU adapter does), 256 tokens, s2 attention. Each
 * mode runs STEPS steps and reports the mean of all but the first (which compiles the pipelines).
 * Host times are what the CPU spends recording: on SwiftShader the kernels also run on the CPU, so
 * they are a lower bound there and closest to a GPU's on a GPU.
 */
import {
  emptyHostProfile,
  Tensor,
  type Binding,
  type DispatchSpec,
  type HostProfile,
  type Runtime,
} from '../src/engine/runtime.ts';
import { LINEAR_NAMES, linearShape, linearWeightName } from '../src/io/block.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { LlamaParams, type RawTensor, type WeightSource } from '../src/model/params.ts';
import type { LlamaShape } from '../src/model/types.ts';
import { cutBlocks, type Dataset } from '../src/train/data.ts';
import { cliDefaults, loraOf } from '../src/train/settings.ts';
import { Trainer } from '../src/train/trainer.ts';
import { encodeHalves } from '../src/util/half.ts';
import { Rng } from '../src/util/rng.ts';
import type { BenchSections, Log } from './types.ts';

const STEPS = 3;
/** Recording-only rounds per mode, after one that warms the cache. */
const ROUNDS = 5;
const CONTEXT = 256;

/** One row of the `launch` section. */
export interface LaunchRow {
  model: string;
  tokens: number;
  /**
   * 'in step': during the Trainer's steps (on a CPU adapter the kernels run on the same cores, and
   * every phase waits for them); 'recording only': one step's dispatches recorded again with the
   * GPU idle, nothing submitted (the host's own cost).
   */
  measured: 'in step' | 'recording only';
  /** 'off': every dispatch creates its bind group; 'on': the bind-group cache. */
  bind_group_cache: 'off' | 'on';
  dispatches_per_step: number;
  submits_per_step: number;
  /** Host µs per dispatch inside Runtime.dispatch, and its phases. */
  host_us_per_dispatch: number;
  check_us: number;
  pipeline_us: number;
  uniform_us: number;
  bind_group_us: number;
  encode_us: number;
  /** Host ms per step in flush() (uniform upload, finish, submit). */
  flush_ms_per_step: number;
  /** Bind groups reused from the cache, of all dispatches. */
  bind_group_reuse: number;
  /** Dispatches with Params per step. */
  params_per_step: number;
  /** Of them, the share answered by a slot already in the uniform arena (nothing written). */
  uniform_reuse: number;
  /** New uniform-arena slots per step (Params not seen before, or since the arena started over). */
  uniform_new_slots_per_step: number;
  /** Params bytes written to the GPU per step (flush's uploads); null: nothing submitted. */
  uniform_bytes_per_step: number | null;
  /** Wall ms of a whole step (kernels included: on a CPU adapter they dominate); null: not run. */
  step_ms: number | null;
}

const SHAPE: LlamaShape = {
  biases: [],
  qkNorm: false,
  vocabSize: 4096,
  hidden: 576,
  intermediate: 1536,
  layers: 2,
  heads: 9,
  kvHeads: 3,
  headDim: 64,
  rmsEps: 1e-5,
  ropeTheta: 100000,
  maxPositions: 8192,
  ropeScaling: null,
  tieWordEmbeddings: true,
};

/** Random bf16 weights (f32 norms) under the Hugging Face names the loader asks for. */
function randomWeights(shape: LlamaShape, seed: number): WeightSource {
  const rng = new Rng(seed);
  const dims = new Map<string, number[]>();
  const D = shape.hidden;
  dims.set('model.embed_tokens.weight', [shape.vocabSize, D]);
  dims.set('model.norm.weight', [D]);
  for (let i = 0; i < shape.layers; i++) {
    dims.set(`model.layers.${i}.input_layernorm.weight`, [D]);
    dims.set(`model.layers.${i}.post_attention_layernorm.weight`, [D]);
    for (const n of LINEAR_NAMES) dims.set(linearWeightName(i, n), linearShape(shape, n));
  }
  return {
    has: (name) => dims.has(name),
    read: async (name): Promise<RawTensor> => {
      const d = dims.get(name);
      if (!d) throw new Error(`no tensor ${name}`);
      const n = d.reduce((a, b) => a * b, 1);
      if (d.length === 1) {
        const f = Float32Array.from({ length: n }, () => 1 + 0.1 * (rng.next() - 0.5));
        return { dtype: 'F32', shape: d, bytes: new Uint8Array(f.buffer) };
      }
      const bound = 1 / Math.sqrt(d[1]!);
      const h = encodeHalves(
        Float64Array.from({ length: n }, () => bound * (2 * rng.next() - 1)),
        'bf16',
      );
      return { dtype: 'BF16', shape: d, bytes: new Uint8Array(h.buffer) };
    },
  };
}

function randomData(vocab: number, context: number, blocks: number): Dataset {
  const rng = new Rng(5);
  const ids = Array.from({ length: context * blocks }, () => rng.int(vocab));
  return {
    format: 'token-ids',
    promptFormat: null,
    example: null,
    separator: null,
    detectedSeparator: null,
    documents: 1,
    tokens: ids.length,
    context,
    train: cutBlocks(ids, null, context),
    heldOut: [],
    samples: [],
    boundary: null,
  };
}

/** Uniform-arena slots reused and staged over some steps. */
interface UniformCounts {
  reused: number;
  staged: number;
}

/** The arena's counts since `from` (a Runtime.uniformStats), added into `into`. */
function addUniforms(into: UniformCounts, rt: Runtime, from: UniformCounts): void {
  const now = rt.uniformStats;
  into.reused += now.reused - from.reused;
  into.staged += now.staged - from.staged;
}

/** A profile as a row. */
function rowOf(
  p: HostProfile,
  u: UniformCounts,
  steps: number,
  cache: boolean,
  measured: LaunchRow['measured'],
  stepMs: number | null,
): LaunchRow {
  const n = p.dispatches;
  const us = (ms: number) => (1000 * ms) / n;
  return {
    model: 'SmolLM2-135M width, 2 layers',
    tokens: CONTEXT,
    measured,
    bind_group_cache: cache ? 'on' : 'off',
    dispatches_per_step: n / steps,
    submits_per_step: p.flushes / steps,
    host_us_per_dispatch: us(p.totalMs),
    check_us: us(p.checkMs),
    pipeline_us: us(p.pipelineMs),
    uniform_us: us(p.uniformMs),
    bind_group_us: us(p.bindGroupMs),
    encode_us: us(p.encodeMs),
    flush_ms_per_step: p.flushMs / steps,
    bind_group_reuse: p.bindGroupsReused / n,
    params_per_step: (u.reused + u.staged) / steps,
    uniform_reuse: u.reused / Math.max(u.reused + u.staged, 1),
    uniform_new_slots_per_step: u.staged / steps,
    uniform_bytes_per_step: measured === 'in step' ? p.uniformBytes / steps : null,
    step_ms: stepMs,
  };
}

/**
 * Runs STEPS Trainer steps with the bind-group cache set to `cache`: the later steps' profile, and
 * (with `replay`) the host time of recording one step's dispatches again with the GPU idle, ROUNDS
 * times with the cache off and on. The replay records the dispatches the second step made, in
 * order, with their Params; the tensors that step made and destroyed (kernels' scratch) are stood
 * in for by fresh tensors of the same shape each round, as each step makes its own; nothing is
 * submitted (Runtime.discardRecorded).
 */
async function measure(rt: Runtime, cache: boolean, replay: boolean): Promise<LaunchRow[]> {
  const settings = {
    ...cliDefaults(CONTEXT),
    attention: 's2' as const,
    steps: STEPS,
    evalEvery: 0,
    checkpointEvery: 0,
  };
  const params = await LlamaParams.load(rt, SHAPE, loraOf(settings), randomWeights(SHAPE, 1), 1);
  const model = new LlamaModel(rt, params, { checkpointing: settings.checkpointing });
  rt.bindGroupCache = cache;
  // Each mode starts with an empty uniform arena (an arena bound of 0 starts it over at the next
  // submit), so the second mode's steps do not find the first's Params.
  const bound = rt.uniformArenaBytes;
  rt.uniformArenaBytes = 0;
  await rt.sync();
  rt.uniformArenaBytes = bound;
  const total = emptyHostProfile();
  let stepMs = 0;
  let measured = 0;
  let t0 = performance.now();
  let step = 1;
  const specs: DispatchSpec[] = [];
  const dispatch = rt.dispatch.bind(rt);
  rt.dispatch = (spec) => {
    if (step === 2) specs.push({ ...spec, bindings: [...spec.bindings] });
    dispatch(spec);
  };
  rt.hostProfile = emptyHostProfile();
  const uniforms: UniformCounts = { reused: 0, staged: 0 };
  let u0: UniformCounts = rt.uniformStats;
  const trainer = new Trainer(rt, model, randomData(SHAPE.vocabSize, CONTEXT, STEPS), settings, {
    modelFingerprint: 'launch',
    modelName: 'launch',
    onEvent: (e) => {
      if (e.type !== 'step') return;
      const now = performance.now();
      // The first step compiles every pipeline: left out.
      if (e.record.step > 1) {
        addInto(total, rt.hostProfile!);
        addUniforms(uniforms, rt, u0);
        stepMs += now - t0;
        measured++;
      }
      step = e.record.step + 1;
      rt.hostProfile = emptyHostProfile();
      u0 = rt.uniformStats;
      t0 = performance.now();
    },
  });
  await trainer.run();
  rt.hostProfile = null;
  rt.dispatch = dispatch;
  const rows = [rowOf(total, uniforms, measured, cache, 'in step', stepMs / measured)];
  if (replay) {
    for (const on of [false, true]) {
      rt.bindGroupCache = on;
      const p = emptyHostProfile();
      const u: UniformCounts = { reused: 0, staged: 0 };
      for (let round = 0; round <= ROUNDS; round++) {
        await rt.sync();
        const standIns = new Map<Tensor, Tensor>();
        const live = (b: Binding): Binding => {
          const t = b instanceof Tensor ? b : b.tensor;
          if (!t.destroyed) return b;
          let s = standIns.get(t);
          if (!s) {
            s = t.split
              ? rt.rowsTensor(t.shape, t.dtype, t.category, t.label)
              : rt.tensor(t.shape, t.dtype, t.category, t.label);
            standIns.set(t, s);
          }
          return b instanceof Tensor ? s : { ...b, tensor: s };
        };
        const round_ = specs.map((s) => ({ ...s, bindings: s.bindings.map(live) }));
        // Round 0 warms the cache (a run's steady state): left out.
        rt.hostProfile = round === 0 ? null : p;
        const from = rt.uniformStats;
        for (const s of round_) rt.dispatch(s);
        if (round > 0) addUniforms(u, rt, from);
        rt.hostProfile = null;
        rt.discardRecorded();
        for (const s of standIns.values()) s.destroy();
      }
      rows.push(rowOf(p, u, ROUNDS, on, 'recording only', null));
    }
  }
  rt.bindGroupCache = true;
  // The step's last commands (zeroing the gradients) are recorded, not yet submitted.
  await rt.sync();
  model.destroy();
  params.destroy();
  return rows;
}

function addInto(into: HostProfile, p: HostProfile): void {
  for (const k of Object.keys(into) as (keyof HostProfile)[]) into[k] += p[k];
}

export async function run(rt: Runtime, log: Log): Promise<BenchSections> {
  const launch = [...(await measure(rt, false, false)), ...(await measure(rt, true, true))];
  for (const r of launch) {
    log(
      `launch ${r.model} @${r.tokens}, ${r.measured}, bind-group cache ${r.bind_group_cache}: ` +
        `${r.dispatches_per_step} dispatches/step, ${r.host_us_per_dispatch.toFixed(1)} µs host ` +
        `per dispatch (check ${r.check_us.toFixed(1)}, pipeline ${r.pipeline_us.toFixed(1)}, ` +
        `uniform ${r.uniform_us.toFixed(1)}, bind group ${r.bind_group_us.toFixed(1)}, encode ` +
        `${r.encode_us.toFixed(1)}), flush ${r.flush_ms_per_step.toFixed(2)} ms/step, reuse ` +
        `${(100 * r.bind_group_reuse).toFixed(0)} %, Params ${r.params_per_step}/step, ` +
        `${(100 * r.uniform_reuse).toFixed(0)} % in the arena, ` +
        `${r.uniform_new_slots_per_step} new slots/step` +
        (r.uniform_bytes_per_step === null ? '' : `, ${r.uniform_bytes_per_step} uniform B/step`) +
        (r.step_ms === null ? '' : `, step ${r.step_ms.toFixed(0)} ms`),
    );
  }
  return { launch };
}
