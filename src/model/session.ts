/**
 * Glue between opened model files (src/io) and the GPU graph, shared by the Web Worker and the CLI:
 * streaming weights to the GPU, the base-model fingerprint, adapter import/export and merging.
 */
import { modelConfigToHfJson, type ModelConfig } from '../io/config.ts';
import { bytesToF32, dtypeBytes, f32ToBytes } from '../io/dtype.ts';
import type { OpenedModel } from '../io/model.ts';
import { archOf } from '../io/arch.ts';
import { globalName, linearOfModule, linearWeightName, loraName, tensorKind } from '../io/block.ts';
import {
  buildAdapterFiles,
  loraScaling,
  type LoraWeights,
  type ReadAdapter,
  type TrainedTensor,
} from '../io/peft.ts';
import { AdapterError, FormatError } from '../io/errors.ts';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import type { Runtime } from '../engine/runtime.ts';
import { fingerprint } from '../util/fingerprint.ts';
import { exportedRopeScaling } from './longlora.ts';
import { LlamaParams, type LoadOptions, type WeightSource } from './params.ts';
import { LINEAR_NAMES, linearShape, type LinearName, type LoraSettings } from './types.ts';

/** A WeightSource over an opened model's tensors (one tensor read at a time). */
export function weightSource(opened: OpenedModel): WeightSource {
  const byName = new Map(opened.tensors.map((t) => [t.name, t]));
  return {
    has: (name) => byName.has(name),
    read: async (name) => {
      const t = byName.get(name);
      if (!t) throw new FormatError(name, 'the model has no such tensor');
      return { dtype: t.dtype, shape: t.shape, bytes: await t.read() };
    },
    readRows: async (name, row0, rows) => {
      const t = byName.get(name);
      if (!t) throw new FormatError(name, 'the model has no such tensor');
      const rowBytes = (t.shape[1] ?? 1) * dtypeBytes(t.dtype);
      const bytes = await t.readRange(row0 * rowBytes, rows * rowBytes);
      return { dtype: t.dtype, shape: t.shape, bytes };
    },
    // A quantized GGUF's matrices go to the GPU in their blocks (model/base-quant.ts).
    stored: (name) => {
      const t = byName.get(name);
      return t?.stored && t.shape.length === 2
        ? { type: t.stored.type, shape: t.shape }
        : undefined;
    },
    readBlocks: async (name, row0, rows) => {
      const t = byName.get(name);
      if (!t?.stored) throw new FormatError(name, 'the model has no such quantized tensor');
      return t.stored.readBlocks(row0, rows);
    },
  };
}

/** Identifies the base model: its config and every tensor's name, shape, dtype and size. */
export function modelFingerprint(opened: OpenedModel): string {
  const c = opened.config;
  const parts = [
    JSON.stringify([
      c.architecture,
      c.vocabSize,
      c.hidden,
      c.intermediate,
      c.layers,
      c.heads,
      c.kvHeads,
      c.headDim,
    ]),
    ...opened.tensors.map((t) => `${t.name}:${t.shape.join('x')}:${t.dtype}:${t.byteLength}`),
  ];
  return fingerprint(parts);
}

/** The LoRA settings an adapter was trained with. */
export function loraSettingsOf(a: ReadAdapter): LoraSettings {
  // target_modules are PEFT's module names, the graph's linears by the layout (src/io/arch.ts).
  const targets = a.targets.map(linearOfModule).filter((t): t is LinearName => t !== undefined);
  if (targets.length !== a.targets.length) {
    throw new AdapterError(
      'adapter_config.json',
      `target_modules ${a.targets.join(', ')} include modules this studio does not train (it trains ${LINEAR_NAMES.join(', ')})`,
    );
  }
  return {
    rank: a.r,
    alpha: a.alpha,
    targets,
    trainEmbed: a.trained.some((t) => tensorKind(t.name) === 'embed'),
    trainNorm: a.trained.some((t) => tensorKind(t.name) === 'norm'),
  };
}

/**
 * Loads the model's parameters to the GPU, optionally restoring an adapter exactly; `opts` as
 * LlamaParams.load's (the base weights' quantization, `baseQuant`, among them).
 */
export async function loadParams(
  rt: Runtime,
  opened: OpenedModel,
  lora: LoraSettings,
  seed: number,
  adapter?: ReadAdapter,
  onTensor?: (name: string, bytes: number) => void,
  opts: LoadOptions = {},
): Promise<LlamaParams> {
  const params = await LlamaParams.load(
    rt,
    opened.config,
    lora,
    weightSource(opened),
    seed,
    onTensor,
    opts,
  );
  if (adapter) applyAdapter(params, adapter);
  return params;
}

/**
 * Writes an adapter's LoRA matrices and trained tensors into the parameters. Checked whole first: a
 * tensor the parameters do not train (the output layer, another model's) or of another size is an
 * AdapterError, and nothing is written.
 */
export function applyAdapter(params: LlamaParams, a: ReadAdapter): void {
  const writes: [string, Float32Array][] = [];
  for (const l of a.lora) {
    const arch = params.arch;
    const n = l.module;
    writes.push([loraName(l.layer, n, 'A', arch), l.A], [loraName(l.layer, n, 'B', arch), l.B]);
  }
  for (const t of a.trained) {
    if (tensorKind(t.name) === 'lmHead')
      throw new AdapterError(
        'adapter_model.safetensors',
        `it trains ${t.name.replace(/\.weight$/, '')}, which this studio does not train (only LoRA pairs, the embedding and the norms)`,
      );
    writes.push([t.name, t.data]);
  }
  const sizes = new Map(params.trainables.map((t) => [t.name, t.size]));
  for (const [name, values] of writes) {
    const size = sizes.get(name);
    if (size === undefined)
      throw new AdapterError(
        'adapter_model.safetensors',
        `it trains ${name}, which this model has no trainable tensor for (trained with other settings or another model?)`,
      );
    if (values.length !== size)
      throw new AdapterError(
        'adapter_model.safetensors',
        `its ${name} has ${values.length} values; this model's has ${size} (another model?)`,
      );
  }
  for (const [name, values] of writes) params.setTrainable(name, values);
}

/** Reads the trained tensors back from the GPU as adapter pieces. */
export async function collectAdapter(
  params: LlamaParams,
): Promise<{ lora: LoraWeights[]; trained: TrainedTensor[] }> {
  const lora: LoraWeights[] = [];
  for (let i = 0; i < params.layers.length; i++) {
    for (const n of params.lora.targets) {
      const p = params.layers[i]!.lora[n]!;
      lora.push({
        layer: i,
        module: n,
        A: await params.rt.read(p.A),
        B: await params.rt.read(p.B),
      });
    }
  }
  const trained: TrainedTensor[] = [];
  for (const t of params.trainables) {
    if (t.name.includes('.lora_')) continue;
    trained.push({ name: t.name, shape: [...t.param.shape], data: await params.rt.read(t.param) });
  }
  return { lora, trained };
}

/** The adapter files (PEFT + LongLoRA layouts, config with rope_scaling, README). */
export async function exportAdapter(
  params: LlamaParams,
  config: ModelConfig,
  baseModel: string,
  ropeFactor: number,
  contextLength: number,
  baseConfigJson?: Record<string, unknown>,
): Promise<Record<string, Uint8Array>> {
  // Decided before reading anything back: a factor no rope_scaling can express throws here.
  const ropeScaling = exportedRopeScaling(config, ropeFactor, baseConfigJson);
  const { lora, trained } = await collectAdapter(params);
  return buildAdapterFiles({
    config,
    baseModel,
    r: params.lora.rank,
    alpha: params.lora.alpha,
    targets: params.lora.targets,
    lora,
    trained,
    ropeFactor,
    ropeScaling,
    contextLength,
    baseConfigJson,
  });
}

/**
 * The merged model's config.json: the base's own (or one written from its ModelConfig, e.g. for a
 * GGUF) with the `rope_scaling` the adapter was trained with (`exportedRopeScaling`: the base's entry
 * unchanged at its own factor, llama3 included; linear F when the adapter's config.json says so).
 */
export function mergedConfigJson(
  opened: OpenedModel,
  adapter: Pick<ReadAdapter, 'ropeFactor'>,
  baseConfigJson?: Record<string, unknown>,
): Record<string, unknown> {
  const config = { ...(baseConfigJson ?? modelConfigToHfJson(opened.config)) };
  config.rope_scaling = exportedRopeScaling(opened.config, adapter.ropeFactor, baseConfigJson);
  if (opened.format === 'gguf') config.tie_word_embeddings = opened.config.tieWordEmbeddings;
  return config;
}

/**
 * The merged model: W + (alpha/r)·B·A for every LoRA target, trained embeddings and norms
 * substituted, other tensors copied; written in the base's dtype. Returns safetensors bytes.
 */
export async function mergeModel(opened: OpenedModel, a: ReadAdapter): Promise<Uint8Array> {
  const arch = archOf(opened.config);
  const scaling = loraScaling(a.alpha, a.r);
  const trained = new Map(a.trained.map((t) => [t.name, t]));
  const lora = new Map(a.lora.map((l) => [linearWeightName(l.layer, l.module, arch), l]));
  const out: TensorToWrite[] = [];
  const tied = opened.config.tieWordEmbeddings;
  for (const t of opened.tensors) {
    if (tied && t.name === globalName(arch, 'lmHead')) continue;
    const replaced = trained.get(t.name);
    const pair = lora.get(t.name);
    if (!replaced && !pair) {
      out.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.read() });
      continue;
    }
    let values: Float32Array;
    if (replaced) {
      values = replaced.data;
    } else {
      values = bytesToF32(await t.read(), t.dtype);
      const [outF, inF] = t.shape as [number, number];
      const r = a.r;
      const { A, B } = pair!;
      for (let o = 0; o < outF; o++) {
        for (let i = 0; i < inF; i++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += B[o * r + k]! * A[k * inF + i]!;
          values[o * inF + i] = values[o * inF + i]! + scaling * s;
        }
      }
    }
    out.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: f32ToBytes(values, t.dtype) });
  }
  return writeSafetensors(out, { format: 'pt' });
}

/** Checks that an adapter fits the model (shapes of every LoRA matrix and trained tensor). */
export function checkAdapterFits(config: ModelConfig, a: ReadAdapter): void {
  for (const l of a.lora) {
    const [out, inF] = linearShape(config, l.module);
    if (l.A.length !== a.r * inF || l.B.length !== out * a.r) {
      throw new AdapterError(
        'adapter_model.safetensors',
        `layer ${l.layer} ${l.module} does not fit this model (rank ${a.r}, in ${inF}, out ${out})`,
      );
    }
    if (l.layer >= config.layers)
      throw new AdapterError(
        'adapter_model.safetensors',
        `the adapter has layer ${l.layer}; the model has ${config.layers} layers`,
      );
  }
}
