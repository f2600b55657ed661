/**
 * The model's GPU tensors: frozen base weights in their storage dtype, trainable tensors (LoRA A/B,
 * embeddings, norms) in f32 with their gradients and (for training) AdamW moments, all from one size
 * table so the memory plan and the allocation agree.
 */
import { bytesToF32, dtypeBytes } from '../io/dtype.ts';
import { FormatError } from '../io/errors.ts';
import type { MemoryCategory } from '../engine/memory.ts';
import {
  allocRowBlocksFrom,
  piecesOf,
  RowBlocks,
  zerosLike,
  type Stored,
} from '../engine/row-blocks.ts';
import type { DType, Runtime, Tensor } from '../engine/runtime.ts';
import { archOf, type Architecture } from '../io/arch.ts';
import {
  globalName,
  linearSource,
  loraName,
  normName,
  normShape,
  NORM_NAMES,
  type LinearSource,
  type NormName,
} from '../io/block.ts';
import { Rng } from '../util/rng.ts';
import { quantize } from '../io/quantize.ts';
import type { QuantType } from '../io/quant.ts';
import { uploadQuantWeight, type QuantWeight } from '../engine/kernels/matmul-quant.ts';
import { allocQuantRowsFrom, QuantRows } from '../engine/quant-rows.ts';
import type { FrozenWeight } from '../engine/kernels/frozen.ts';
import { frozenType, isQuantType, type BaseQuant } from './base-quant.ts';
import { defaultEmbedOptimizer, type EmbedOptimizer } from './longlora.ts';
import {
  LINEAR_NAMES,
  linearShape,
  type LinearName,
  type LlamaShape,
  type LoraSettings,
} from './types.ts';
import { InternalError } from '../util/errors.ts';

/** A tensor as a checkpoint file gives it: HF name, dtype, shape and raw little-endian bytes. */
export interface RawTensor {
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  bytes: Uint8Array;
}

/** Reads base weights by Hugging Face name (streams one tensor at a time). */
export interface WeightSource {
  has(name: string): boolean;
  /**
   * A tensor its file stores quantized (a GGUF's ggml blocks): its type and shape; undefined for a
   * float one. With readBlocks, such a frozen matrix goes to the GPU in its blocks, undequantized.
   */
  stored?(name: string): { type: QuantType; shape: number[] } | undefined;
  /** Rows [row0, row0 + rows) of a quantized 2-D tensor as its ggml blocks (stored(name) says which). */
  readBlocks?(name: string, row0: number, rows: number): Promise<Uint8Array>;
  read(name: string): Promise<RawTensor>;
  /**
   * Rows [row0, row0 + rows) of a 2-D tensor (its dtype and full shape, and those rows' bytes), so a
   * vocabulary-sized matrix is uploaded one row block at a time instead of held whole in memory.
   */
  readRows?(name: string, row0: number, rows: number): Promise<RawTensor>;
}

/**
 * One trainable tensor with its gradient and optimizer state. The embedding's are row-blocked
 * (RowBlocks, one block when it fits the adapter's limits; gradient and moments blocked alike); the
 * Runtime's read/write/zero and the optimizer launchers take either.
 */
export interface Trainable {
  /** Hugging Face name (a LoRA matrix's, the embedding's or a norm's: src/io/block.ts). */
  name: string;
  param: Stored;
  grad: Stored;
  /**
   * AdamW moments on the GPU; reading them throws when the parameters were loaded without optimizer
   * state or the moments live in host memory (`hostMoments`).
   */
  readonly m: Stored;
  readonly v: Stored;
  /**
   * AdamW moments kept in host memory instead (the embedding with `embedOptimizer: 'cpu'`): one f32
   * array per block of `param` (piecesOf order), zero-initialised. Read and write them with
   * readMoments / writeMoments, which take either home.
   */
  hostMoments?: { m: Float32Array[]; v: Float32Array[] };
  size: number;
  /** Apply weight decay (LoRA matrices) or not (norms, embeddings follow the same rule here). */
  decay: boolean;
}

export interface LoraPair {
  A: Tensor;
  B: Tensor;
}

/** A vocabulary-sized matrix: float row blocks (trainable or frozen), or quantized row blocks (frozen). */
export type VocabMatrix = RowBlocks | QuantRows;

export interface LayerParams {
  inputNorm: Tensor;
  postNorm: Tensor;
  /**
   * The frozen projections: float tensors (f32, or packed bf16/f16) or ggml blocks in the GPU layout
   * (issue 26: a quantized GGUF's, or quantized on load under LoadOptions.baseQuant).
   */
  w: Record<LinearName, FrozenWeight>;
  /** Frozen f32 biases of the projections the architecture gives one (shape.biases). */
  bias: Partial<Record<LinearName, Tensor>>;
  /** Per-head q and k RMSNorm weights [head_dim] (shape.qkNorm); norms, trained under trainNorm. */
  qNorm?: Tensor;
  kNorm?: Tensor;
  lora: Partial<Record<LinearName, LoraPair>>;
}

const STORAGE: Record<RawTensor['dtype'], DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

/** What `LlamaParams.load` allocates besides the weights. */
export interface LoadOptions {
  /**
   * AdamW moments (m, v) for every trainable (default true). Only the trainer needs them: a forward
   * and backward (`longlora grad`), evaluation and generation load without (8 bytes per trainable
   * parameter fewer).
   */
  optimizerState?: boolean;
  /**
   * Where the trainable embedding's AdamW moments live (default `defaultEmbedOptimizer(shape)`):
   * 'cpu' keeps them in host memory (8 bytes per embedding parameter off the GPU) and the trainer
   * updates the embedding on the CPU. Ignored without optimizer state or a trainable embedding.
   */
  embedOptimizer?: EmbedOptimizer;
  /**
   * The architecture description that names the checkpoint's tensors (default: the one the shape's
   * `architecture` names, src/io/arch.ts).
   */
  arch?: Architecture;
  /**
   * Quantize float frozen matrices on load (model/base-quant.ts's rule, llama.cpp's reference
   * quantizers); 'none' (default) keeps them as stored. A file's quantized matrices stay in their
   * blocks either way.
   */
  baseQuant?: BaseQuant;
}

/**
 * All GPU parameters of a LoRA+ decoder of the Llama block (Llama, Mistral, Qwen2, Qwen3: the
 * architecture's extra tensors, biases and q/k norms, come from the shape; src/io/arch.ts).
 */
export class LlamaParams {
  readonly trainables: Trainable[] = [];
  /** The AdamW moments allocated (empty without optimizer state). */
  private readonly moments: Stored[] = [];
  private constructor(
    readonly rt: Runtime,
    readonly shape: LlamaShape,
    readonly lora: LoraSettings,
    /**
     * [V, D] as row blocks under the adapter's binding and buffer limits (one when it fits): f32
     * when LoRA+ trains it, else as frozenType says (quantized blocks for the lookup, or a float).
     */
    readonly embed: VocabMatrix,
    /** The output layer: `embed` itself when tied, else its own row-blocked [V, D]. */
    readonly lmHead: VocabMatrix,
    readonly norm: Tensor,
    readonly layers: LayerParams[],
    /** Whether every trainable has AdamW moments (see LoadOptions). */
    readonly hasOptimizerState: boolean,
    /** Where the trainable embedding's moments live (see LoadOptions). */
    readonly embedOptimizer: EmbedOptimizer = 'gpu',
    /** The description that names its tensors (LoadOptions `arch`). */
    readonly arch: Architecture = archOf(shape),
  ) {}

  /** Uploads base weights from `src` and initialises LoRA as PEFT does (A kaiming-uniform, B = 0). */
  static async load(
    rt: Runtime,
    shape: LlamaShape,
    lora: LoraSettings,
    src: WeightSource,
    seed: number,
    onTensor?: (name: string, bytes: number) => void,
    opts: LoadOptions = {},
  ): Promise<LlamaParams> {
    const arch = opts.arch ?? archOf(shape);
    const baseQuant = opts.baseQuant ?? 'none';
    const upload = (
      name: string,
      raw: RawTensor,
      expect: number[],
      category: MemoryCategory,
      forceF32: boolean,
    ) => {
      onTensor?.(name, raw.bytes.byteLength);
      if (forceF32 || raw.dtype === 'F32') {
        return rt.tensor(expect, 'f32', category, name, bytesToF32(raw.bytes, raw.dtype));
      }
      return rt.tensor(expect, STORAGE[raw.dtype], category, name, raw.bytes);
    };
    const up = async (
      name: string,
      expect: number[],
      category: MemoryCategory,
      forceF32: boolean,
    ) => {
      const raw = await src.read(name);
      if (raw.shape.join(',') !== expect.join(',')) {
        throw new FormatError(name, `shape [${raw.shape}] does not match the config's [${expect}]`);
      }
      return upload(name, raw, expect, category, forceF32);
    };
    // A linear's bias, or its weight as read: its whole tensor, or its rows of a fused one.
    const readLinear = async (at: LinearSource, expect: number[]): Promise<[string, RawTensor]> => {
      if (at.row0 === 0 && at.rows === at.shape[0]) {
        const raw = await src.read(at.name);
        if (raw.shape.join(',') !== expect.join(',')) {
          throw new FormatError(
            at.name,
            `shape [${raw.shape}] does not match the config's [${expect}]`,
          );
        }
        return [at.name, raw];
      }
      const raw = src.readRows
        ? await src.readRows(at.name, at.row0, at.rows)
        : await src.read(at.name);
      if (raw.shape.join(',') !== at.shape.join(',')) {
        throw new FormatError(
          at.name,
          `shape [${raw.shape}] does not match the config's [${at.shape}]`,
        );
      }
      const rowBytes = (at.shape[1] ?? 1) * dtypeBytes(raw.dtype);
      const bytes = src.readRows
        ? raw.bytes
        : raw.bytes.subarray(at.row0 * rowBytes, (at.row0 + at.rows) * rowBytes);
      return [`${at.name}[${at.row0}:${at.row0 + at.rows}]`, { ...raw, bytes }];
    };
    const upLinear = async (
      at: LinearSource,
      expect: number[],
      category: MemoryCategory,
      forceF32: boolean,
    ) => {
      const [name, raw] = await readLinear(at, expect);
      return upload(name, raw, expect, category, forceF32);
    };
    // A frozen projection: its file's quantized blocks, quantized on load, or its float dtype.
    const upFrozen = async (at: LinearSource, expect: [number, number]): Promise<FrozenWeight> => {
      const [rows, cols] = expect;
      const whole = at.row0 === 0 && at.rows === at.shape[0];
      const label = whole ? at.name : `${at.name}[${at.row0}:${at.row0 + at.rows}]`;
      const stored = src.stored?.(at.name);
      if (stored && src.readBlocks) {
        if (stored.shape.join(',') !== at.shape.join(','))
          throw new FormatError(
            at.name,
            `shape [${stored.shape}] does not match the config's [${at.shape}]`,
          );
        const bytes = await src.readBlocks(at.name, at.row0, at.rows);
        onTensor?.(label, bytes.byteLength);
        return uploadQuantWeight(rt, stored.type, rows, cols, bytes, 'weights', label);
      }
      const [, raw] = await readLinear(at, expect);
      const type = frozenType(raw.dtype, cols, baseQuant);
      if (!isQuantType(type)) return upload(label, raw, expect, 'weights', false);
      onTensor?.(label, raw.bytes.byteLength);
      const blocks = quantize(type, bytesToF32(raw.bytes, raw.dtype));
      return uploadQuantWeight(rt, type, rows, cols, blocks, 'weights', label);
    };
    // The vocabulary-sized matrices, row-blocked when one buffer would exceed the adapter's limits.
    const upRows = async (
      name: string,
      category: MemoryCategory,
      forceF32: boolean,
    ): Promise<VocabMatrix> => {
      const dims = [shape.vocabSize, shape.hidden] as const;
      const stored = forceF32 ? undefined : src.stored?.(name);
      if (stored && src.readBlocks) {
        if (stored.shape.join(',') !== dims.join(','))
          throw new FormatError(
            name,
            `shape [${stored.shape}] does not match the config's [${dims}]`,
          );
        const blocks = await allocQuantRowsFrom(rt, stored.type, dims, category, name, (r0, n) =>
          src.readBlocks!(name, r0, n),
        );
        onTensor?.(name, blocks.bytes);
        return blocks;
      }
      // One row block at a time when the source can: JS memory holds at most one block's bytes.
      const first = src.readRows ? await src.readRows(name, 0, 0) : await src.read(name);
      if (first.shape.join(',') !== dims.join(',')) {
        throw new FormatError(name, `shape [${first.shape}] does not match the config's [${dims}]`);
      }
      // Rows [row0, row0 + n) as the file stores them: read, or cut from the whole tensor.
      const rawRows = async (row0: number, n: number): Promise<RawTensor> => {
        if (src.readRows) return src.readRows(name, row0, n);
        const rowBytes = dims[1] * dtypeBytes(first.dtype);
        return { ...first, bytes: first.bytes.subarray(row0 * rowBytes, (row0 + n) * rowBytes) };
      };
      const quant = forceF32 ? 'f32' : frozenType(first.dtype, dims[1], baseQuant);
      if (isQuantType(quant)) {
        const blocks = await allocQuantRowsFrom(rt, quant, dims, category, name, async (r0, n) => {
          const raw = await rawRows(r0, n);
          return quantize(quant, bytesToF32(raw.bytes, raw.dtype));
        });
        onTensor?.(name, dims[0] * dims[1] * dtypeBytes(first.dtype));
        return blocks;
      }
      const dtype: DType = forceF32 || first.dtype === 'F32' ? 'f32' : STORAGE[first.dtype];
      const rows = async (row0: number, n: number): Promise<ArrayBufferView> => {
        const raw = await rawRows(row0, n);
        return dtype === 'f32' ? bytesToF32(raw.bytes, raw.dtype) : raw.bytes;
      };
      const blocks = await allocRowBlocksFrom(rt, dims, dtype, category, name, rows);
      onTensor?.(name, dims[0] * dims[1] * dtypeBytes(first.dtype));
      return blocks;
    };
    const D = shape.hidden;
    const trainCat: MemoryCategory = 'lora';
    const embed = await upRows(
      globalName(arch, 'embed'),
      lora.trainEmbed ? trainCat : 'weights',
      lora.trainEmbed,
    );
    const tied = shape.tieWordEmbeddings || !src.has(globalName(arch, 'lmHead'));
    const lmHead = tied ? embed : await upRows(globalName(arch, 'lmHead'), 'weights', false);
    const norm = await up(
      globalName(arch, 'norm'),
      [D],
      lora.trainNorm ? trainCat : 'weights',
      true,
    );
    const rng = new Rng(seed);
    const layers: LayerParams[] = [];
    for (let i = 0; i < shape.layers; i++) {
      const upNorm = (n: NormName) =>
        up(normName(arch, i, n), normShape(shape, n), lora.trainNorm ? trainCat : 'weights', true);
      const inputNorm = await upNorm('inputNorm');
      const postNorm = await upNorm('postNorm');
      const w = {} as Record<LinearName, FrozenWeight>;
      for (const n of LINEAR_NAMES)
        w[n] = await upFrozen(linearSource(arch, shape, i, n), linearShape(shape, n));
      const bias: Partial<Record<LinearName, Tensor>> = {};
      for (const n of shape.biases) {
        const at = linearSource(arch, shape, i, n, 'bias');
        bias[n] = await upLinear(at, [linearShape(shape, n)[0]], 'weights', true);
      }
      const qk = shape.qkNorm ? { qNorm: await upNorm('qNorm'), kNorm: await upNorm('kNorm') } : {};
      const pairs: Partial<Record<LinearName, LoraPair>> = {};
      for (const n of lora.targets) {
        const [out, inF] = linearShape(shape, n);
        const bound = 1 / Math.sqrt(inF);
        pairs[n] = {
          A: rt.tensor(
            [lora.rank, inF],
            'f32',
            trainCat,
            loraName(i, n, 'A', arch),
            rng.floats(lora.rank * inF, -bound, bound),
          ),
          B: rt.tensor([out, lora.rank], 'f32', trainCat, loraName(i, n, 'B', arch)),
        };
      }
      layers.push({ inputNorm, postNorm, w, bias, ...qk, lora: pairs });
    }
    const optimizerState = opts.optimizerState ?? true;
    const params = new LlamaParams(
      rt,
      shape,
      lora,
      embed,
      lmHead,
      norm,
      layers,
      optimizerState,
      opts.embedOptimizer ?? defaultEmbedOptimizer(shape),
      arch,
    );
    params.createTrainables();
    return params;
  }

  /** The embedding as the float row blocks LoRA+ trains (an InternalError when it is frozen). */
  get trainedEmbed(): RowBlocks {
    if (!(this.embed instanceof RowBlocks) || !this.lora.trainEmbed)
      throw new InternalError('the embedding is frozen (not trained by LoRA+)');
    return this.embed;
  }

  /** True when the output layer is the (trainable) embedding matrix. */
  get outputTrainable(): boolean {
    return this.lmHead === this.embed && this.lora.trainEmbed;
  }

  private createTrainables(): void {
    const add = (name: string, param: Stored, decay: boolean, onHost = false) => {
      const mk = (cat: MemoryCategory, what: string): Stored =>
        param instanceof RowBlocks
          ? zerosLike(this.rt, param, cat, `${name} ${what}`)
          : this.rt.tensor(param.shape, 'f32', cat, `${name} ${what}`);
      const grad = mk('gradients', 'grad');
      this.rt.zero(grad);
      let moments: { m: Stored; v: Stored } | null = null;
      let hostMoments: Trainable['hostMoments'];
      if (this.hasOptimizerState && onHost) {
        const zeros = () => piecesOf(param).map((p) => new Float32Array(p.tensor.size));
        hostMoments = { m: zeros(), v: zeros() };
      } else if (this.hasOptimizerState) {
        moments = { m: mk('optimizer', 'm'), v: mk('optimizer', 'v') };
        this.rt.zero(moments.m);
        this.rt.zero(moments.v);
        this.moments.push(moments.m, moments.v);
      }
      const state = () => {
        if (hostMoments) {
          throw new InternalError(
            `${name}'s optimizer state is in host memory (embedOptimizer 'cpu'): use hostMoments.`,
          );
        }
        if (!moments) {
          throw new InternalError(
            `${name} has no optimizer state: the parameters were loaded without it ` +
              '(LlamaParams.load with optimizerState: false), for a forward and backward only.',
          );
        }
        return moments;
      };
      this.trainables.push({
        name,
        param,
        grad,
        get m() {
          return state().m;
        },
        get v() {
          return state().v;
        },
        size: param.size,
        decay,
        ...(hostMoments ? { hostMoments } : {}),
      });
    };
    const arch = this.arch;
    if (this.lora.trainEmbed)
      add(globalName(arch, 'embed'), this.trainedEmbed, false, this.embedOptimizer === 'cpu');
    this.layers.forEach((l, i) => {
      if (this.lora.trainNorm) {
        for (const n of NORM_NAMES) {
          const t = l[n];
          if (t) add(normName(arch, i, n), t, false);
        }
      }
      for (const n of this.lora.targets) {
        const pair = l.lora[n]!;
        add(loraName(i, n, 'A', arch), pair.A, true);
        add(loraName(i, n, 'B', arch), pair.B, true);
      }
    });
    if (this.lora.trainNorm) add(globalName(arch, 'norm'), this.norm, false);
  }

  /** The trainable entry for a parameter tensor, if it is trained. */
  trainableOf(t: Stored): Trainable | undefined {
    return this.trainables.find((x) => x.param === t);
  }

  /** Gradient of a parameter (blocked as the parameter is), or undefined when it is frozen. */
  gradOf(t: Tensor): Tensor | undefined;
  gradOf(t: RowBlocks): RowBlocks | undefined;
  gradOf(t: Stored): Stored | undefined {
    return this.trainableOf(t)?.grad;
  }

  /** Zeroes every gradient (after an optimizer step). */
  zeroGrads(): void {
    for (const t of this.trainables) this.rt.zero(t.grad);
  }

  /** Bytes of AdamW moments kept in host memory (the embedding's with embedOptimizer 'cpu'). */
  get hostMomentBytes(): number {
    let n = 0;
    for (const t of this.trainables)
      for (const a of [...(t.hostMoments?.m ?? []), ...(t.hostMoments?.v ?? [])]) n += a.byteLength;
    return n;
  }

  /** Number of trainable parameters. */
  get trainableCount(): number {
    return this.trainables.reduce((s, t) => s + t.size, 0);
  }

  /** Overwrites trainable parameters (adapter import / checkpoint restore) by name. */
  setTrainable(name: string, values: Float32Array): void {
    const t = this.trainables.find((x) => x.name === name);
    if (!t) throw new InternalError(`no trainable tensor named ${name}`);
    if (values.length !== t.size)
      throw new InternalError(`${name}: ${values.length} values, expected ${t.size}`);
    this.rt.write(t.param, values);
  }

  destroy(): void {
    const seen = new Set<Stored | QuantRows>();
    const kill = (t: Stored | QuantRows | QuantWeight) => {
      if (!(t instanceof RowBlocks || t instanceof QuantRows) && 'cols' in t) {
        kill(t.tensor);
        return;
      }
      if (!seen.has(t)) {
        seen.add(t);
        t.destroy();
      }
    };
    for (const t of this.trainables) [t.param, t.grad].forEach(kill);
    this.moments.forEach(kill);
    [this.embed, this.lmHead, this.norm].forEach(kill);
    for (const l of this.layers) {
      [l.inputNorm, l.postNorm, ...Object.values(l.w), ...Object.values(l.bias)].forEach(kill);
      if (l.qNorm) kill(l.qNorm);
      if (l.kNorm) kill(l.kNorm);
      for (const p of Object.values(l.lora)) [p.A, p.B].forEach(kill);
    }
  }
}

/** A vocabulary matrix as the float row blocks it is (an InternalError when it is quantized). */
export function floatBlocks(m: VocabMatrix): RowBlocks {
  if (m instanceof RowBlocks) return m;
  throw new InternalError(`${m.label} is quantized (${m.type}), not float row blocks`);
}

/** A trainable's AdamW moments as whole f32 arrays (read from the GPU or copied from host memory). */
export async function readMoments(
  rt: Runtime,
  t: Trainable,
): Promise<{ m: Float32Array; v: Float32Array }> {
  if (!t.hostMoments) return { m: await rt.read(t.m), v: await rt.read(t.v) };
  const join = (parts: Float32Array[]) => {
    const out = new Float32Array(t.size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return { m: join(t.hostMoments.m), v: join(t.hostMoments.v) };
}

/** Overwrites a trainable's AdamW moments (whole f32 arrays of t.size values) wherever they live. */
export function writeMoments(rt: Runtime, t: Trainable, m: Float32Array, v: Float32Array): void {
  if (!t.hostMoments) {
    rt.write(t.m, m);
    rt.write(t.v, v);
    return;
  }
  for (const [src, parts] of [
    [m, t.hostMoments.m],
    [v, t.hostMoments.v],
  ] as const) {
    let at = 0;
    for (const p of parts) {
      p.set(src.subarray(at, at + p.length));
      at += p.length;
    }
  }
}
