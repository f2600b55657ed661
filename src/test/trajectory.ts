/**
 * Test support for trajectory comparisons: the GPU trainer (src/train/trainer.ts) and the float64
 * reference trainer (src/reference/trainer.ts) run the same steps from the same weights on the same
 * blocks in file order; each step's loss and every trained tensor afterwards are compared. Also loads
 * stories260K (public/demo) as reference weights in either host.
 */
import { hfTokenizer, type Tokenizer } from '../io/tokenizer.ts';
import { linearPath, type LinearName } from '../io/config.ts';
import { LlamaModel } from '../model/llama.ts';
import { LlamaParams } from '../model/params.ts';
import type { RefConfig, RefLayerWeights, RefWeights } from '../reference/llama.ts';
import { refTrain, refTrainables, type RefStepRecord } from '../reference/trainer.ts';
import { cutBlocks, type Block, type Dataset } from '../train/data.ts';
import { Trainer } from '../train/trainer.ts';
import type { StepRecord } from '../train/types.ts';
import { groupOf, loraOf, type RunSettings } from '../train/settings.ts';
import { Rng } from '../util/rng.ts';
import { demoAsset, testRuntime } from './gpu.ts';
import { relativeError } from './numeric.ts';
import { refWeightSource, setNonZeroLora, shapeOfRef } from './parity.ts';

/** A training dataset of the given token stream cut into blocks of `context` (none held out). */
export function tokenDataset(ids: readonly number[], context: number): Dataset {
  const train = cutBlocks([...ids], null, context);
  return {
    format: 'token-ids',
    promptFormat: null,
    example: null,
    separator: null,
    detectedSeparator: null,
    documents: 1,
    tokens: ids.length,
    context,
    train,
    heldOut: [],
    samples: [],
    boundary: null,
  };
}

/** stories260K from public/demo (F32 safetensors and config.json) as reference weights, no LoRA. */
export async function loadStoriesRef(): Promise<{ cfg: RefConfig; w: RefWeights }> {
  const buf = await demoAsset('model.safetensors');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen))) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const get = (name: string): Float64Array => {
    const t = header[name];
    if (!t || t.dtype !== 'F32') throw new Error(`stories260K: no F32 tensor ${name}`);
    const [a, b] = t.data_offsets;
    const bytes = buf.slice(8 + headerLen + a, 8 + headerLen + b);
    return Float64Array.from(new Float32Array(bytes.buffer));
  };
  const hf = JSON.parse(new TextDecoder().decode(await demoAsset('config.json'))) as Record<
    string,
    number | boolean
  >;
  const H = hf.num_attention_heads as number;
  const cfg: RefConfig = {
    vocab: hf.vocab_size as number,
    hidden: hf.hidden_size as number,
    intermediate: hf.intermediate_size as number,
    layers: hf.num_hidden_layers as number,
    heads: H,
    kvHeads: hf.num_key_value_heads as number,
    headDim: (hf.hidden_size as number) / H,
    rmsEps: hf.rms_norm_eps as number,
    ropeTheta: hf.rope_theta as number,
    ropeFactor: 1,
    tied: hf.tie_word_embeddings as boolean,
    pattern: 'full',
    group: 16,
    loraTargets: [],
    rank: 8,
    alpha: 16,
  };
  const layers: RefLayerWeights[] = Array.from({ length: cfg.layers }, (_, i) => {
    const p = `model.layers.${i}.`;
    const lin = (n: LinearName) => get(`${p}${linearPath(n)}.weight`);
    return {
      inputNorm: get(`${p}input_layernorm.weight`),
      postNorm: get(`${p}post_attention_layernorm.weight`),
      q: lin('q_proj'),
      k: lin('k_proj'),
      v: lin('v_proj'),
      o: lin('o_proj'),
      gate: lin('gate_proj'),
      up: lin('up_proj'),
      down: lin('down_proj'),
      lora: {},
    };
  });
  return {
    cfg,
    w: { embed: get('model.embed_tokens.weight'), norm: get('model.norm.weight'), layers },
  };
}

/** The stories260K tokenizer (tokenizer.json + tokenizer_config.json from public/demo). */
export async function loadStoriesTokenizer(): Promise<Tokenizer> {
  const json = async (f: string): Promise<unknown> =>
    JSON.parse(new TextDecoder().decode(await demoAsset(f))) as unknown;
  return hfTokenizer(await json('tokenizer.json'), await json('tokenizer_config.json'));
}

/** Gives every layer of `w` LoRA A ~ U(±1/√in) and B ~ U(±0.05) for cfg.loraTargets (rank cfg.rank). */
export function addRefLora(cfg: RefConfig, w: RefWeights, seed: number): void {
  const rng = new Rng(seed);
  const D = cfg.hidden;
  const shapes: Record<string, [number, number]> = {
    q_proj: [D, cfg.heads * cfg.headDim],
    k_proj: [D, cfg.kvHeads * cfg.headDim],
    v_proj: [D, cfg.kvHeads * cfg.headDim],
    o_proj: [cfg.heads * cfg.headDim, D],
    gate_proj: [D, cfg.intermediate],
    up_proj: [D, cfg.intermediate],
    down_proj: [cfg.intermediate, D],
  };
  const uni = (n: number, bound: number) =>
    Float64Array.from({ length: n }, () => rng.uniform(-bound, bound));
  for (const l of w.layers) {
    for (const t of cfg.loraTargets) {
      const [inF, outF] = shapes[t]!;
      l.lora[t] = { A: uni(cfg.rank * inF, 1 / Math.sqrt(inF)), B: uni(outF * cfg.rank, 0.05) };
    }
  }
}

export interface TrajectoryResult {
  gpu: StepRecord[];
  ref: RefStepRecord[];
  /** |loss_gpu − loss_ref| / |loss_ref| per step. */
  lossErrors: number[];
  /** Norm-wise relative error of each trained tensor after the last step, by name. */
  tensorErrors: Map<string, number>;
}

/**
 * Trains `w` (with LoRA for cfg.loraTargets) on the GPU with `settings` (order sequential, no
 * evaluation or checkpoints) and with the reference trainer; cfg's pattern, group and RoPE factor
 * are set from `settings`. The weights are rounded to f32 first, so both start from the same values.
 */
export async function gpuVsReference(
  cfg: RefConfig,
  w0: RefWeights,
  ids: readonly number[],
  settings: RunSettings,
): Promise<TrajectoryResult> {
  // The factor is the reference's and the GPU run's alike: the settings' own, else the config's.
  const s: RunSettings = {
    ...settings,
    ropeFactor: settings.ropeFactor ?? cfg.ropeFactor,
    order: 'sequential',
    evalEvery: 0,
    checkpointEvery: 0,
  };
  const lora = loraOf(s);
  const rcfg: RefConfig = {
    ...cfg,
    pattern: s.attention,
    group: groupOf(s),
    ropeFactor: s.ropeFactor!,
    loraTargets: [...lora.targets],
    rank: lora.rank,
    alpha: lora.alpha,
  };
  const w = structuredClone(w0);
  const rt = await testRuntime();
  const shape = shapeOfRef(rcfg);
  const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, 'F32'), 1);
  setNonZeroLora(params, w, lora.targets); // LoRA A and B rounded to f32 on both sides
  const model = new LlamaModel(rt, params);
  const data = tokenDataset(ids, s.context);
  const trainer = new Trainer(rt, model, data, s, { modelFingerprint: 'ref', modelName: 'ref' });
  try {
    if ((await trainer.run()) !== 'done') throw new Error('the GPU run did not finish');
    const blocks: Block[] = data.train;
    const ref = refTrain(rcfg, w, blocks, {
      ...s,
      trainEmbed: lora.trainEmbed,
      trainNorm: lora.trainNorm,
      order: 'sequential',
    });
    const gpu = [...trainer.steps];
    const lossErrors = gpu.map((r, i) => Math.abs(r.loss - ref[i]!.loss) / Math.abs(ref[i]!.loss));
    const tensorErrors = new Map<string, number>();
    const want = new Map(
      refTrainables(rcfg, w, { trainEmbed: lora.trainEmbed, trainNorm: lora.trainNorm }).map(
        (t) => [t.name, t.param],
      ),
    );
    if (want.size !== params.trainables.length)
      throw new Error(`${params.trainables.length} GPU trainables, ${want.size} in the reference`);
    for (const t of params.trainables) {
      const r = want.get(t.name);
      if (!r) throw new Error(`the reference does not train ${t.name}`);
      tensorErrors.set(t.name, relativeError(await rt.read(t.param), r));
    }
    return { gpu, ref, lossErrors, tensorErrors };
  } finally {
    trainer.destroy();
    model.destroy();
    params.destroy();
  }
}
