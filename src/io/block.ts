/**
 * What an architecture description (arch.ts) implies, in the form each reader needs: the block's
 * linears and their shapes, a layer's tensors with their Hugging Face and GGUF names, where a
 * linear's weight lives (a whole tensor, or rows of a fused one), LoRA and trained tensors' names,
 * the tensors a checkpoint must hold, the GGUF export's order and the rows GGUF keeps in
 * interleaved rotary order. No tensor name is spelled here: they all come from the descriptions.
 */
import {
  ARCHITECTURES,
  archOf,
  BLOCK_LINEARS,
  BLOCK_NORMS,
  type Architecture,
  type BlockDims,
  type BlockLayout,
  type LayerTensor,
  type LinearName,
  type LinearSpec,
  type NormName,
  type NormSpec,
} from './arch.ts';
import { InternalError } from '../util/errors.ts';

export type { LinearName, NormName } from './arch.ts';

/** What a model's tensor list depends on (ModelConfig has all of it). */
export interface BlockConfig extends BlockDims {
  /** config.json's architecture name; the Llama description when absent (shapes built by hand). */
  architecture?: string;
  vocabSize: number;
  layers: number;
  /** The linears that carry a (frozen) bias. */
  biases: readonly LinearName[];
  /** Per-head q/k norms. */
  qkNorm: boolean;
  tieWordEmbeddings: boolean;
}

/** What the trained tensors depend on (no biases, no output layer). */
export type TrainedConfig = Omit<BlockConfig, 'biases' | 'tieWordEmbeddings'>;

/** The block's linears, in the graph's order (BLOCK_LINEARS). */
export const LINEAR_NAMES: readonly LinearName[] = BLOCK_LINEARS.map((l) => l.name);

/** Whether `x` names one of the block's linears. */
export function isLinearName(x: unknown): x is LinearName {
  return typeof x === 'string' && (LINEAR_NAMES as readonly string[]).includes(x);
}

/** The description of a linear. */
export function linearSpec(n: LinearName): LinearSpec<LinearName> {
  const s = BLOCK_LINEARS.find((l) => l.name === n);
  if (!s) throw new InternalError(`no linear named ${String(n)}`);
  return s;
}

/** [out, in] of a linear layer's weight. */
export function linearShape(c: BlockDims, n: LinearName): [number, number] {
  return linearSpec(n).shape(c);
}

/** The block's norms, in the graph's order (BLOCK_NORMS). */
export const NORM_NAMES: readonly NormName[] = BLOCK_NORMS.map((n) => n.name);

function normSpec(n: NormName): NormSpec<NormName> {
  const s = BLOCK_NORMS.find((x) => x.name === n);
  if (!s) throw new InternalError(`no norm named ${String(n)}`);
  return s;
}

/** The shape of a block norm's weight. */
export function normShape(c: BlockDims, n: NormName): number[] {
  return normSpec(n).shape(c);
}

/** Whether a layer tensor exists only with per-head q/k norms (`qkNorm`). */
function onlyWithQkNorm(t: LayerTensor): boolean {
  return t.norm !== undefined && normSpec(t.norm).whenQkNorm === true;
}

/** The layer tensors a config's checkpoints hold (biases aside), in the layout's order. */
export function layerTensors(c: { qkNorm: boolean }, arch: Architecture): LayerTensor[] {
  return arch.layout.layer.filter((t) => c.qkNorm || !onlyWithQkNorm(t));
}

/** The shape of a stored layer tensor: its norm's, or its linears' stacked by rows. */
export function layerTensorShape(c: BlockDims, t: LayerTensor): number[] {
  if (t.norm !== undefined) return normShape(c, t.norm);
  const shapes = t.linears.map((n) => linearShape(c, n));
  return [shapes.reduce((a, s) => a + s[0], 0), shapes[0]![1]];
}

/** The layer tensors that store a bias: the linear ones whose linears all carry one. */
function biasTensors(c: Pick<BlockConfig, 'biases' | 'qkNorm'>, arch: Architecture): LayerTensor[] {
  return layerTensors(c, arch).filter(
    (t) => t.linears !== undefined && t.linears.every((n) => c.biases.includes(n)),
  );
}

/** The Hugging Face name of a tensor of layer `layer` stored under module path `path`. */
export function layerTensorName(
  arch: Architecture,
  layer: number,
  path: string,
  suffix: 'weight' | 'bias' = 'weight',
): string {
  return `${arch.layout.layerPrefix.hf}.${layer}.${path}.${suffix}`;
}

/** The model's tensors outside the layers. */
export type GlobalTensor = 'embed' | 'norm' | 'lmHead';

/** The Hugging Face name of the embedding, the final norm or the output layer's weight. */
export function globalName(arch: Architecture, which: GlobalTensor): string {
  return `${arch.layout[which].hf}.weight`;
}

/** The last component of a module path: the module's name, as PEFT names modules. */
export function moduleName(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

/** The layer tensor that stores a linear. */
export function tensorOfLinear(arch: Architecture, n: LinearName): LayerTensor {
  const t = arch.layout.layer.find((x) => x.linears?.includes(n));
  if (!t) throw new InternalError(`${arch.id}'s layout stores no ${n}`);
  return t;
}

/** The Hugging Face name of a layer's norm weight. */
export function normName(arch: Architecture, layer: number, n: NormName): string {
  const t = arch.layout.layer.find((x) => x.norm === n);
  if (!t) throw new InternalError(`${arch.id}'s layout stores no ${n}`);
  return layerTensorName(arch, layer, t.hf);
}

/** Where a linear's weight (or bias) is stored: rows [row0, row0 + rows) of the tensor `name`. */
export interface LinearSource {
  name: string;
  /** The stored tensor's shape (the linears it stacks; 1-D for a bias). */
  shape: number[];
  row0: number;
  rows: number;
}

/** Where layer `layer`'s linear `n` is stored (its weight, or its bias). */
export function linearSource(
  arch: Architecture,
  c: BlockDims,
  layer: number,
  n: LinearName,
  suffix: 'weight' | 'bias' = 'weight',
): LinearSource {
  const t = tensorOfLinear(arch, n);
  const whole = layerTensorShape(c, t);
  let row0 = 0;
  for (const part of t.linears!) {
    if (part === n) break;
    row0 += linearShape(c, part)[0];
  }
  return {
    name: layerTensorName(arch, layer, t.hf, suffix),
    shape: suffix === 'bias' ? [whole[0]!] : whole,
    row0,
    rows: linearShape(c, n)[0],
  };
}

/** The default description for the name helpers below (all four architectures share its layout). */
const LLAMA = ARCHITECTURES[0]!;

/**
 * Whether LoRA may adapt a linear: it is stored alone (PEFT adapts a fused tensor as one module,
 * with one pair, which the graph's per-linear LoRA is not).
 */
export function isLoraTarget(n: LinearName, arch: Architecture = LLAMA): boolean {
  return tensorOfLinear(arch, n).linears!.length === 1;
}

/** The module path of the tensor storing a linear (its layout entry's `hf`). */
export function linearPath(n: LinearName, arch: Architecture = LLAMA): string {
  return tensorOfLinear(arch, n).hf;
}

/** The Hugging Face name of the weight tensor storing layer `layer`'s linear `n`. */
export function linearWeightName(layer: number, n: LinearName, arch: Architecture = LLAMA): string {
  return layerTensorName(arch, layer, linearPath(n, arch));
}

/**
 * The Hugging Face-style name of a LoRA matrix (`<module path>.lora_A.weight`; PEFT adds
 * `base_model.model.` in front on export). A fused tensor's linears have none (isLoraTarget).
 */
export function loraName(
  layer: number,
  n: LinearName,
  which: 'A' | 'B',
  arch: Architecture = LLAMA,
): string {
  if (!isLoraTarget(n, arch))
    throw new InternalError(`${n} is part of a fused tensor in ${arch.id}: LoRA cannot adapt it`);
  return `${arch.layout.layerPrefix.hf}.${layer}.${linearPath(n, arch)}.lora_${which}.weight`;
}

/** The Hugging Face name of a linear's bias tensor, by its module path. */
export function biasName(layer: number, path: string, arch: Architecture = LLAMA): string {
  return layerTensorName(arch, layer, path, 'bias');
}

/** The Hugging Face name of a layer's per-head q or k norm weight. */
export function qkNormName(layer: number, which: 'q' | 'k', arch: Architecture = LLAMA): string {
  return normName(arch, layer, which === 'q' ? 'qNorm' : 'kNorm');
}

/**
 * A layer's norms with their shapes, as expectedTensors lists them: the per-head q/k norms when the
 * config has them, then the others.
 */
function layerNorms(c: TrainedConfig, arch: Architecture, layer: number): [string, number[]][] {
  const norms = layerTensors(c, arch).filter((t) => t.norm !== undefined);
  return [...norms.filter(onlyWithQkNorm), ...norms.filter((t) => !onlyWithQkNorm(t))].map((t) => [
    layerTensorName(arch, layer, t.hf),
    layerTensorShape(c, t),
  ]);
}

/**
 * The full tensors LoRA+ trains besides the LoRA pairs, with their HF shapes: the embedding
 * (`trainEmbed`) and every norm weight of the architecture (`trainNorm`: each layer's, Qwen3's q/k
 * norms included, and the final norm) — the same names expectedTensors lists.
 */
export function trainedTensorShapes(
  c: TrainedConfig,
  t: { trainEmbed: boolean; trainNorm: boolean },
  arch: Architecture = archOf(c),
): Map<string, number[]> {
  const m = new Map<string, number[]>();
  if (t.trainEmbed) m.set(globalName(arch, 'embed'), [c.vocabSize, c.hidden]);
  if (t.trainNorm) {
    for (let i = 0; i < c.layers; i++)
      for (const [n, shape] of layerNorms(c, arch, i)) m.set(n, shape);
    m.set(globalName(arch, 'norm'), [c.hidden]);
  }
  return m;
}

/**
 * Every tensor a checkpoint with this config must hold, with its HF shape (biases and q/k norms per
 * its config): the embedding, then per layer its linear tensors, their biases and its norms, then
 * the final norm and an untied output layer.
 */
export function expectedTensors(
  c: BlockConfig,
  arch: Architecture = archOf(c),
): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set(globalName(arch, 'embed'), [c.vocabSize, c.hidden]);
  for (let i = 0; i < c.layers; i++) {
    for (const t of layerTensors(c, arch))
      if (t.linears) m.set(layerTensorName(arch, i, t.hf), layerTensorShape(c, t));
    for (const t of biasTensors(c, arch))
      m.set(layerTensorName(arch, i, t.hf, 'bias'), [layerTensorShape(c, t)[0]!]);
    for (const [n, shape] of layerNorms(c, arch, i)) m.set(n, shape);
  }
  m.set(globalName(arch, 'norm'), [c.hidden]);
  if (!c.tieWordEmbeddings) m.set(globalName(arch, 'lmHead'), [c.vocabSize, c.hidden]);
  return m;
}

/** The fewest tensors a checkpoint of `layers` layers holds (no biases, no q/k norms, tied). */
export function fewestTensors(arch: Architecture, layers: number): number {
  return layerTensors({ qkNorm: false }, arch).length * layers + 2;
}

/**
 * The HF names of the tensors a merged GGUF holds, in llama.cpp's order: the embedding, the final
 * norm, an untied output layer, then per layer its tensors in the layout's order, their biases, and
 * the tensors present only with q/k norms.
 */
export function ggufExportOrder(c: BlockConfig, arch: Architecture = archOf(c)): string[] {
  const order = [globalName(arch, 'embed'), globalName(arch, 'norm')];
  if (!c.tieWordEmbeddings) order.push(globalName(arch, 'lmHead'));
  const tensors = layerTensors(c, arch);
  for (let i = 0; i < c.layers; i++) {
    for (const t of tensors.filter((x) => !onlyWithQkNorm(x)))
      order.push(layerTensorName(arch, i, t.hf));
    for (const t of biasTensors(c, arch)) order.push(layerTensorName(arch, i, t.hf, 'bias'));
    for (const t of tensors.filter(onlyWithQkNorm)) order.push(layerTensorName(arch, i, t.hf));
  }
  return order;
}

/** Rows of a stored weight that RoPE rotates: `heads` heads from row `row0`. */
export interface RotaryRows {
  row0: number;
  rows: number;
  heads: number;
}

function rotaryRowsOf(arch: Architecture, c: BlockDims, linears: readonly LinearName[]) {
  const out: RotaryRows[] = [];
  if (!arch.ggufPermuteQK) return out;
  let row0 = 0;
  for (const n of linears) {
    const s = linearSpec(n);
    const rows = s.shape(c)[0];
    if (s.rotary) out.push({ row0, rows, heads: c[s.rotary] });
    row0 += rows;
  }
  return out;
}

/**
 * The rows of a stored weight (by HF name) that the architecture's GGUF keeps in interleaved
 * rotary order (arch.ts `ggufPermuteQK`: llama's q and k), one entry per rotated linear; empty for
 * every other tensor and for architectures that keep Hugging Face's order.
 */
export function ggufRotaryRows(arch: Architecture, c: BlockDims, hfName: string): RotaryRows[] {
  const at = parseLayerName(hfName, arch);
  if (!at || at.suffix !== 'weight') return [];
  const t = arch.layout.layer.find((x) => x.hf === at.path);
  return t?.linears ? rotaryRowsOf(arch, c, t.linears) : [];
}

/** ggufRotaryRows for the output rows of one linear (a LoRA B). */
export function ggufRotaryRowsOfLinear(
  arch: Architecture,
  c: BlockDims,
  n: LinearName,
): RotaryRows[] {
  return rotaryRowsOf(arch, c, [n]);
}

/** The layouts of the known architectures (they share one today). */
function knownLayouts(arch?: Architecture): BlockLayout[] {
  return arch ? [arch.layout] : [...new Set(ARCHITECTURES.map((a) => a.layout))];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A layer tensor's HF name split into layer, module path and suffix (null when it is none). */
function parseLayerName(
  name: string,
  arch?: Architecture,
): { layer: number; path: string; suffix: string } | null {
  for (const l of knownLayouts(arch)) {
    const m = new RegExp(`^${escape(l.layerPrefix.hf)}\\.(\\d+)\\.(.+)\\.(weight|bias)$`).exec(
      name,
    );
    if (m) return { layer: Number(m[1]), path: m[2]!, suffix: m[3]! };
  }
  return null;
}

const GLOBALS: readonly GlobalTensor[] = ['embed', 'norm', 'lmHead'];

/**
 * Maps a GGUF tensor name to its Hugging Face name (null when it has no HF counterpart, e.g.
 * rope_freqs), by `arch`'s layout or, without one, any known architecture's.
 */
export function ggufToHfName(name: string, arch?: Architecture): string | null {
  for (const l of knownLayouts(arch)) {
    const m = new RegExp(
      `^${escape(l.layerPrefix.gguf)}\\.(\\d+)\\.([a-z_]+)\\.(weight|bias)$`,
    ).exec(name);
    if (m) {
      const t = l.layer.find((x) => x.gguf === m[2]);
      if (t) return `${l.layerPrefix.hf}.${m[1]}.${t.hf}.${m[3]}`;
      continue;
    }
    const g = /^([a-z_]+)\.(weight|bias)$/.exec(name);
    const which = g ? GLOBALS.find((w) => l[w].gguf === g[1]) : undefined;
    if (which) return `${l[which].hf}.${g![2]}`;
  }
  return null;
}

/** Maps a Hugging Face tensor name to its GGUF name (the inverse of ggufToHfName). */
export function hfToGgufName(name: string, arch?: Architecture): string | null {
  for (const l of knownLayouts(arch)) {
    const m = new RegExp(`^${escape(l.layerPrefix.hf)}\\.(\\d+)\\.(.+)\\.(weight|bias)$`).exec(
      name,
    );
    if (m) {
      const t = l.layer.find((x) => x.hf === m[2]);
      if (t) return `${l.layerPrefix.gguf}.${m[1]}.${t.gguf}.${m[3]}`;
      continue;
    }
    const g = /^(.+)\.(weight|bias)$/.exec(name);
    const which = g ? GLOBALS.find((w) => l[w].hf === g[1]) : undefined;
    if (which) return `${l[which].gguf}.${g![2]}`;
  }
  return null;
}

/**
 * A LoRA-adapted module path as PEFT names it under the model (`<layer prefix>.3.<sublayer>.<module>`),
 * split into its layer and module name, over the known layouts (adapters do not say their
 * architecture); null when the path is not a linear's place in a layer (its sublayer unknown).
 */
export function adaptedModule(path: string): { layer: number; module: string } | null {
  for (const l of knownLayouts()) {
    const parents = new Set(
      l.layer.filter((t) => t.linears).map((t) => t.hf.slice(0, t.hf.lastIndexOf('.'))),
    );
    const m = new RegExp(`^${escape(l.layerPrefix.hf)}\\.(\\d+)\\.(.+)\\.(\\w+)$`).exec(path);
    if (m && parents.has(m[2]!)) return { layer: Number(m[1]), module: m[3]! };
  }
  return null;
}

/**
 * The linear a LoRA module name adapts (PEFT's target_modules entry: the module name of a linear
 * stored alone), over the known layouts; undefined when none.
 */
export function linearOfModule(module: string): LinearName | undefined {
  for (const l of knownLayouts()) {
    const t = l.layer.find((x) => x.linears?.length === 1 && moduleName(x.hf) === module);
    if (t) return t.linears![0];
  }
  return undefined;
}

/** Which of the model's tensors a Hugging Face name is, over the known layouts (undefined: none). */
export function tensorKind(
  name: string,
): 'embed' | 'norm' | 'lmHead' | 'linear' | 'bias' | undefined {
  for (const l of knownLayouts()) {
    const which = GLOBALS.find((w) => `${l[w].hf}.weight` === name);
    if (which) return which;
    const m = new RegExp(`^${escape(l.layerPrefix.hf)}\\.\\d+\\.(.+)\\.(weight|bias)$`).exec(name);
    const t = m ? l.layer.find((x) => x.hf === m[1]) : undefined;
    if (!t) continue;
    if (m![2] === 'bias') return t.linears ? 'bias' : undefined;
    return t.norm !== undefined ? 'norm' : 'linear';
  }
  return undefined;
}
