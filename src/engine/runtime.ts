/**
 * The GPU runtime every kernel launcher goes through: tensors with byte accounting, a pipeline
 * cache, a uniform arena, dispatch recording into few command buffers, read-back, and the named
 * errors (out of memory, device lost, shader compilation) surfaced at the next sync point.
 */
import type { AdapterSummary, GpuHandle } from './device.ts';
import {
  DeviceLostError,
  GPUValidationError,
  OutOfMemoryError,
  ShaderCompilationError,
  TooLargeError,
  type ShaderMessage,
} from './errors.ts';
import { decodeHalves } from '../util/half.ts';
import { MemoryTracker, type MemoryCategory } from './memory.ts';
import type { RowBlocks } from './row-blocks.ts';
import { expandShader, type ExpandedWgsl } from './wgsl-include.ts';
import { InternalError } from '../util/errors.ts';
import { DTYPE_BYTES, type DType } from '../util/dtype.ts';

/** How long a failed call waits for device.lost to settle before trusting its own error. */
const LOSS_SETTLE_MS = 1000;

/** Element types a tensor can hold (bf16/f16 packed two per u32, no shader-f16 needed) and their widths. */
export { DTYPE_BYTES, type DType } from '../util/dtype.ts';

/** Returns the WGSL text of a shader by file name (without `.wgsl`). */
export type ShaderLoader = (name: string) => string;

/**
 * A byte range of a tensor bound as if it were the whole buffer (the shader sees its first byte at
 * index 0). The offset must be a multiple of the device's minStorageBufferOffsetAlignment; the
 * binding limit applies to `size`, not to the tensor. Tensor.rows makes one.
 */
export interface TensorView {
  tensor: Tensor;
  offset: number;
  size: number;
}

/** A buffer binding: a whole tensor, or a byte range of one. */
export type Binding = Tensor | TensorView;

/** The tensor a binding reads or writes. */
export function bindingTensor(b: Binding): Tensor {
  return b instanceof Tensor ? b : b.tensor;
}

/** Bytes a binding covers. */
export function bindingBytes(b: Binding): number {
  return b instanceof Tensor ? b.bytes : b.size;
}

/** What one dispatch needs. Bindings go to @group(0) in order; `params` becomes the last binding. */
export interface DispatchSpec {
  shader: string;
  entry?: string;
  constants?: Record<string, number>;
  bindings: Binding[];
  params?: ArrayBuffer;
  workgroups: [number, number?, number?];
  label?: string;
}

/** A byte range of one of a tensor's buffers. */
export interface BufferRange {
  buffer: GPUBuffer;
  /** Offset within `buffer`. */
  offset: number;
  /** Offset within the tensor. */
  at: number;
  bytes: number;
}

/**
 * A GPU buffer with a shape, a dtype and a memory category; destroy() returns its bytes. A tensor
 * from Runtime.rowsTensor larger than maxBufferSize is stored in several buffers ("parts") of
 * `partBytes` bytes each (the last may be shorter), each a whole number of rows: it is bound only
 * through row views that lie inside one part (Tensor.rows), and read, written, zeroed and copied
 * across parts by the Runtime.
 */
export class Tensor {
  private alive = true;
  constructor(
    readonly rt: Runtime,
    /** Its buffers: one, or consecutive parts of partBytes bytes each. */
    readonly parts: readonly GPUBuffer[],
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly category: MemoryCategory,
    readonly bytes: number,
    readonly label: string,
    /** Bytes of each part but the last (all bytes when there is one). */
    readonly partBytes = bytes,
  ) {}

  /** The tensor's one buffer; throws for a tensor stored in parts (bind it through row views). */
  get buffer(): GPUBuffer {
    if (this.parts.length > 1) {
      throw new InternalError(
        `${this.label} is stored in ${this.parts.length} buffers of ${this.partBytes} bytes ` +
          '(past maxBufferSize); bind it through row views within one buffer (Tensor.rows)',
      );
    }
    return this.parts[0]!;
  }

  /** Stored in more than one buffer. */
  get split(): boolean {
    return this.parts.length > 1;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get destroyed(): boolean {
    return !this.alive;
  }

  /** Bytes of one row (elements after the first dimension); 32-bit dtypes only. */
  get rowBytes(): number {
    if (DTYPE_BYTES[this.dtype] !== 4)
      throw new InternalError(`${this.label}: row views need 32-bit rows`);
    return (this.size / Math.max(this.shape[0] ?? 1, 1)) * 4;
  }

  /**
   * Rows row0 … row0 + n − 1 of this tensor as a binding (the whole tensor when that is all of it).
   * row0 · rowBytes must be a multiple of the device's minStorageBufferOffsetAlignment (≤ 256, so
   * any multiple of 64 rows of a 32-bit tensor qualifies), and the rows must lie in one part of a
   * split tensor (any block of 64·2^j rows starting at a multiple of its size does); the dispatch
   * checks both.
   */
  rows(row0: number, n: number): Binding {
    const rows = this.shape[0] ?? 1;
    if (!(Number.isInteger(row0) && Number.isInteger(n) && row0 >= 0 && n > 0 && row0 + n <= rows))
      throw new InternalError(`${this.label}: rows ${row0}…${row0 + n - 1} outside [0, ${rows})`);
    if (row0 === 0 && n === rows && !this.split) return this;
    const rb = this.rowBytes;
    return { tensor: this, offset: row0 * rb, size: n * rb };
  }

  /**
   * The buffer ranges covering bytes [offset, offset + bytes) of the tensor, in order: one for an
   * unsplit tensor, one per part touched for a split one.
   */
  ranges(offset = 0, bytes = this.bytes - offset): BufferRange[] {
    if (offset < 0 || bytes < 0 || offset + bytes > this.bytes)
      throw new InternalError(`${this.label}: bytes ${offset}+${bytes} outside its ${this.bytes}`);
    const out: BufferRange[] = [];
    let at = offset;
    const end = offset + bytes;
    while (at < end) {
      const i = Math.min(Math.floor(at / this.partBytes), this.parts.length - 1);
      const partEnd = i === this.parts.length - 1 ? this.bytes : (i + 1) * this.partBytes;
      const n = Math.min(end, partEnd) - at;
      out.push({ buffer: this.parts[i]!, offset: at - i * this.partBytes, at, bytes: n });
      at += n;
    }
    return out;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.rt.release(this);
  }
}

const UNIFORM_CHUNK = 64 * 1024;

/** A per-device runtime; create one per GPUDevice. */
export class Runtime {
  readonly device: GPUDevice;
  readonly info: AdapterSummary;
  readonly memory = new MemoryTracker();
  private readonly loadShader: ShaderLoader;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly origins = new Map<string, ExpandedWgsl['origin']>();
  private readonly extraShaders = new Map<string, string>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly live = new Set<Tensor>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingDispatches = 0;
  private uniformChunks: GPUBuffer[] = [];
  private uniformStaging: Uint8Array<ArrayBuffer>[] = [];
  private uniformChunk = 0;
  private uniformOffset = 0;
  private readonly align: number;
  private pendingError: Error | null = null;
  private lost: DeviceLostError | null = null;
  private destroying = false;
  private readonly lostListeners = new Set<(e: DeviceLostError) => void>();
  /** Dispatches submitted since creation (for tests and benchmarks). */
  dispatchCount = 0;

  constructor(handle: GpuHandle, loadShader: ShaderLoader) {
    this.device = handle.device;
    this.info = handle.info;
    this.loadShader = loadShader;
    this.align = this.device.limits.minUniformBufferOffsetAlignment;
    void this.device.lost.then((info) => {
      if (this.destroying) return;
      this.lost = new DeviceLostError(
        `The GPU device was lost (${info.reason}): ${info.message || 'no message'}. ` +
          'Training can resume from the last checkpoint.',
        String(info.reason),
      );
      for (const l of this.lostListeners) l(this.lost);
    });
    this.device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      if (this.pendingError) return;
      this.pendingError =
        err instanceof GPUOutOfMemoryError
          ? new OutOfMemoryError(`GPU out of memory: ${err.message}`)
          : new GPUValidationError(`GPU error: ${err.message}`);
    });
  }

  /** Calls `fn` when the device is lost. Returns an unsubscribe function. */
  onDeviceLost(fn: (e: DeviceLostError) => void): () => void {
    this.lostListeners.add(fn);
    return () => this.lostListeners.delete(fn);
  }

  /**
   * The real cause of a failed GPU call. A lost device first shows up as whatever the pending call
   * rejected with (an aborted mapAsync, a validation error) and settles device.lost just after:
   * waits up to LOSS_SETTLE_MS for it, so callers see DeviceLostError (or a pending out-of-memory
   * error) rather than the abort.
   */
  async causeOf(e: unknown): Promise<unknown> {
    if (e instanceof DeviceLostError) return e;
    await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, LOSS_SETTLE_MS))]);
    await new Promise((r) => setTimeout(r, 0));
    try {
      this.checkErrors();
    } catch (pending) {
      return pending;
    }
    return e;
  }

  /** Throws the device-lost or a pending asynchronous error, if any. */
  checkErrors(): void {
    if (this.lost) throw this.lost;
    const e = this.pendingError;
    if (e) {
      this.pendingError = null;
      throw e;
    }
  }

  /** Allocates a tensor, counted under `category`; `data` (optional) is uploaded. */
  tensor(
    shape: readonly number[],
    dtype: DType,
    category: MemoryCategory,
    label: string,
    data?: ArrayBufferView,
  ): Tensor {
    const t = this.allocate(shape, dtype, category, label, Infinity);
    if (data) this.write(t, data);
    return t;
  }

  /**
   * Allocates a per-token tensor [rows, …]: one buffer when it fits maxBufferSize, else parts of
   * splitRows(rowBytes, maxBufferSize) rows each (64·2^k rows, see Tensor). Kernels bind it only in
   * row blocks; the model's blocks (64·2^j rows under a limit no larger) each lie in one part.
   */
  rowsTensor(
    shape: readonly number[],
    dtype: DType,
    category: MemoryCategory,
    label: string,
  ): Tensor {
    const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    const rows = partRows(rowBytes, this.info.limits.maxBufferSize);
    return this.allocate(shape, dtype, category, label, rows > 0 ? rows * rowBytes : 0);
  }

  private allocate(
    shape: readonly number[],
    dtype: DType,
    category: MemoryCategory,
    label: string,
    partBytes: number,
  ): Tensor {
    this.checkErrors();
    const elements = shape.reduce((a, b) => a * b, 1);
    const bytes = Math.max(4, Math.ceil((elements * DTYPE_BYTES[dtype]) / 4) * 4);
    const limit = this.info.limits.maxBufferSize;
    // One buffer when it fits; a rowsTensor past the limit in parts of partBytes (0: rows too wide).
    const per = bytes > limit ? partBytes : bytes;
    if (per > limit || per < 1) throw new TooLargeError(label, bytes, 'maxBufferSize', limit);
    const count = Math.ceil(bytes / per);
    this.device.pushErrorScope('out-of-memory');
    const parts = Array.from({ length: count }, (_, i) =>
      this.device.createBuffer({
        label: count > 1 ? `${label} (part ${i + 1} of ${count})` : label,
        size: i < count - 1 ? per : bytes - per * (count - 1),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      }),
    );
    const inUse = this.memory.snapshot().current;
    void this.device.popErrorScope().then((err) => {
      if (err && !this.pendingError)
        this.pendingError = outOfMemory(label, category, bytes, inUse, err.message);
    });
    const t = new Tensor(this, parts, [...shape], dtype, category, bytes, label, per);
    this.live.add(t);
    this.memory.alloc(category, bytes);
    return t;
  }

  /** Called by Tensor.destroy(). */
  release(t: Tensor): void {
    if (!this.live.delete(t)) return;
    this.memory.free(t.category, t.bytes);
    for (const b of t.parts) b.destroy();
  }

  /**
   * Writes bytes into a tensor. Pending dispatches are submitted first so ordering holds. A RowBlocks
   * matrix takes the whole matrix's bytes (byteOffset 0), spread over its blocks.
   */
  write(t: Tensor | RowBlocks, data: ArrayBufferView, byteOffset = 0): void {
    if (!(t instanceof Tensor)) {
      if (byteOffset !== 0)
        throw new InternalError(`write(): ${t.label} is row-blocked; write it whole`);
      const all = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const rowBytes = t.shape[1] * DTYPE_BYTES[t.dtype];
      for (const p of t.pieces()) {
        this.write(p.tensor, all.subarray(p.row0 * rowBytes, (p.row0 + p.rows) * rowBytes));
      }
      return;
    }
    if (this.pendingDispatches > 0) this.flush();
    const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
    for (const r of t.ranges(byteOffset, padded.byteLength)) {
      this.device.queue.writeBuffer(
        r.buffer,
        r.offset,
        padded.buffer,
        padded.byteOffset + r.at - byteOffset,
        r.bytes,
      );
    }
  }

  /** Fills a tensor (every block of a RowBlocks matrix) with zeros, in order with dispatches. */
  zero(t: Tensor | RowBlocks): void {
    this.endPass();
    for (const b of t instanceof Tensor ? [t] : t.blocks)
      for (const p of b.parts) this.getEncoder().clearBuffer(p);
    this.pendingDispatches++;
  }

  /** Copies bytes between tensors (recorded in order with dispatches). */
  copy(
    src: Tensor,
    dst: Tensor,
    bytes = Math.min(src.bytes, dst.bytes),
    srcOffset = 0,
    dstOffset = 0,
  ): void {
    this.endPass();
    const enc = this.getEncoder();
    for (const a of src.ranges(srcOffset, bytes)) {
      for (const b of dst.ranges(dstOffset + a.at - srcOffset, a.bytes)) {
        const from = a.offset + (b.at - (dstOffset + a.at - srcOffset));
        enc.copyBufferToBuffer(a.buffer, from, b.buffer, b.offset, b.bytes);
      }
    }
    this.pendingDispatches++;
  }

  /** The cached compute pipeline for (shader, entry, constants). */
  pipeline(
    shader: string,
    entry = 'main',
    constants: Record<string, number> = {},
  ): GPUComputePipeline {
    const key = pipelineKey(shader, entry, constants);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const module = this.module(shader);
    this.device.pushErrorScope('validation');
    const p = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: entry, constants },
    });
    void this.device.popErrorScope().then(async (err) => {
      if (!err || this.pendingError) return;
      const msgs = await this.compilationMessages(shader, module);
      this.pendingError = msgs.some((m) => m.type === 'error')
        ? new ShaderCompilationError(shader, msgs)
        : new GPUValidationError(`pipeline ${key}: ${err.message}`);
    });
    this.pipelines.set(key, p);
    return p;
  }

  /** Compiles a pipeline and waits for it; throws ShaderCompilationError with line numbers. */
  async compile(
    shader: string,
    entry = 'main',
    constants: Record<string, number> = {},
  ): Promise<GPUComputePipeline> {
    const key = pipelineKey(shader, entry, constants);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const module = this.module(shader);
    const msgs = await this.compilationMessages(shader, module);
    if (msgs.some((m) => m.type === 'error')) throw new ShaderCompilationError(shader, msgs);
    try {
      const p = await this.device.createComputePipelineAsync({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: entry, constants },
      });
      this.pipelines.set(key, p);
      return p;
    } catch (e) {
      throw new GPUValidationError(`pipeline ${key}: ${(e as Error).message}`);
    }
  }

  /** Number of cached pipelines (tests check the cache is hit). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Records one compute dispatch. */
  dispatch(spec: DispatchSpec): void {
    this.checkErrors();
    const label = spec.label ?? spec.shader;
    const maxBinding = this.info.limits.maxStorageBufferBindingSize;
    const alignment = this.device.limits.minStorageBufferOffsetAlignment;
    for (const b of spec.bindings) {
      const t = bindingTensor(b);
      const size = bindingBytes(b);
      if (!(b instanceof Tensor)) {
        if (b.offset % alignment !== 0 || b.offset < 0)
          throw new InternalError(
            `${label}: [Buffer ${t.label}] view offset ${b.offset} is not a multiple of ${alignment}`,
          );
        if (size <= 0 || size % 4 !== 0 || b.offset + size > t.bytes)
          throw new InternalError(
            `${label}: [Buffer ${t.label}] view ${b.offset}+${size} outside its ${t.bytes} bytes`,
          );
        if (t.ranges(b.offset, size).length > 1)
          throw new InternalError(
            `${label}: [Buffer ${t.label}] view ${b.offset}+${size} crosses a boundary of its ` +
              `${t.partBytes}-byte buffers`,
          );
      } else if (t.split) {
        throw new InternalError(
          `${label}: [Buffer ${t.label}] is stored in ${t.parts.length} buffers; bind it through ` +
            'row views within one',
        );
      }
      if (size > maxBinding) {
        throw new TooLargeError(
          `${label}: [Buffer ${t.label}]`,
          size,
          'maxStorageBufferBindingSize',
          maxBinding,
        );
      }
    }
    const pipeline = this.pipeline(spec.shader, spec.entry, spec.constants);
    const entries: GPUBindGroupEntry[] = spec.bindings.map((b, i) =>
      b instanceof Tensor
        ? { binding: i, resource: { buffer: b.buffer } }
        : { binding: i, resource: viewResource(b) },
    );
    if (spec.params) {
      entries.push({ binding: entries.length, resource: this.uniform(spec.params) });
    }
    const bindGroup = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.getPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = spec.workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new InternalError(
        `${label}: dispatch ${x}×${y}×${z} exceeds ${max} workgroups per dimension`,
      );
    }
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.pendingDispatches++;
    this.dispatchCount++;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    for (let i = 0; i <= this.uniformChunk && i < this.uniformChunks.length; i++) {
      const used = i < this.uniformChunk ? UNIFORM_CHUNK : this.uniformOffset;
      if (used > 0)
        this.device.queue.writeBuffer(this.uniformChunks[i]!, 0, this.uniformStaging[i]!, 0, used);
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pendingDispatches = 0;
    this.uniformChunk = 0;
    this.uniformOffset = 0;
  }

  /** Submits and waits for the GPU to finish; throws any pending named error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    // Error scopes resolve asynchronously; give their callbacks a turn.
    await new Promise((r) => setTimeout(r, 0));
    this.checkErrors();
  }

  /** Reads a tensor's raw bytes back to the CPU. */
  async readBytes(
    t: Tensor,
    byteOffset = 0,
    byteLength = t.bytes - byteOffset,
  ): Promise<ArrayBuffer> {
    this.endPass();
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({
      label: `read ${t.label}`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    for (const r of t.ranges(byteOffset, Math.min(size, t.bytes - byteOffset))) {
      this.getEncoder().copyBufferToBuffer(r.buffer, r.offset, staging, r.at - byteOffset, r.bytes);
    }
    this.pendingDispatches++;
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      throw await this.causeOf(e);
    }
    const out = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    staging.destroy();
    this.checkErrors();
    return out;
  }

  /** Reads a tensor, or a RowBlocks matrix whole, as f32 values (bf16/f16 are decoded). */
  async read(t: Tensor | RowBlocks): Promise<Float32Array<ArrayBuffer>> {
    if (!(t instanceof Tensor)) {
      const out = new Float32Array(t.size);
      for (const p of t.pieces()) out.set(await this.read(p.tensor), p.row0 * t.shape[1]);
      return out;
    }
    const bytes = await this.readBytes(t);
    if (t.dtype === 'bf16' || t.dtype === 'f16') {
      return decodeHalves(new Uint16Array(bytes, 0, t.size), t.dtype);
    }
    if (t.dtype !== 'f32')
      throw new InternalError(`read(): ${t.label} is ${t.dtype}; use readBytes`);
    return new Float32Array(bytes, 0, t.size);
  }

  /** Live tensors (for leak checks). */
  get liveTensors(): number {
    return this.live.size;
  }

  /** Destroys every live tensor and cached buffer; optionally the device too. */
  destroy(destroyDevice = false): void {
    this.endPass();
    this.encoder = null;
    for (const t of [...this.live]) t.destroy();
    for (const b of this.uniformChunks) b.destroy();
    this.uniformChunks = [];
    this.uniformStaging = [];
    if (destroyDevice) {
      this.destroying = true;
      this.device.destroy();
    }
  }

  /** Adds WGSL source under a name (generated or test shaders); shaders/ files need no registration. */
  registerShader(name: string, code: string): void {
    if (this.modules.has(name) || this.extraShaders.has(name))
      throw new InternalError(`shader ${name} already exists`);
    this.extraShaders.set(name, code);
  }

  /** The compiler's messages for a module, with lines mapped back to the files they came from. */
  private async compilationMessages(
    shader: string,
    module: GPUShaderModule,
  ): Promise<ShaderMessage[]> {
    const info = await module.getCompilationInfo();
    const origin = this.origins.get(shader);
    return info.messages.map((m) => {
      const at = origin && m.lineNum > 0 ? origin(m.lineNum) : null;
      return {
        type: m.type,
        ...(at && at.file !== shader ? { file: at.file } : {}),
        lineNum: at ? at.line : m.lineNum,
        linePos: m.linePos,
        message: m.message,
      };
    });
  }

  private module(shader: string): GPUShaderModule {
    let m = this.modules.get(shader);
    if (!m) {
      // Includes and the `// #params` struct are spliced here, for bundled and on-disk shaders alike.
      const { code, origin } = expandShader(
        shader,
        (name) => this.extraShaders.get(name) ?? this.loadShader(name),
      );
      this.origins.set(shader, origin);
      // Module errors are reported through getCompilationInfo() (compile) or the pipeline's error
      // scope (pipeline); keep them out of the uncaptured-error path.
      this.device.pushErrorScope('validation');
      m = this.device.createShaderModule({ label: shader, code });
      void this.device.popErrorScope();
      this.modules.set(shader, m);
    }
    return m;
  }

  private uniform(bytes: ArrayBuffer): GPUBufferBinding {
    const size = Math.ceil(bytes.byteLength / 16) * 16;
    if (this.uniformOffset + size > UNIFORM_CHUNK) {
      this.uniformChunk++;
      this.uniformOffset = 0;
    }
    while (this.uniformChunks.length <= this.uniformChunk) {
      this.uniformChunks.push(
        this.device.createBuffer({
          label: 'uniform arena',
          size: UNIFORM_CHUNK,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
      );
      this.uniformStaging.push(new Uint8Array(UNIFORM_CHUNK));
    }
    const offset = this.uniformOffset;
    this.uniformStaging[this.uniformChunk]!.set(new Uint8Array(bytes), offset);
    this.uniformOffset = Math.ceil((offset + size) / this.align) * this.align;
    return { buffer: this.uniformChunks[this.uniformChunk]!, offset, size };
  }

  private getEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'step' });
    return this.encoder;
  }

  private getPass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.getEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

function pipelineKey(shader: string, entry: string, constants: Record<string, number>): string {
  const c = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  return `${shader}:${entry}{${c}}`;
}

/**
 * Rows per buffer of a tensor split by Runtime.rowsTensor: the largest 64·2^k rows of `rowBytes`
 * within `maxBytes` (0 when not even 64 fit). Powers of two so that every smaller block of 64·2^j
 * rows (the model's token blocks, see viewBlockRows) lies inside one part.
 */
export function partRows(rowBytes: number, maxBytes: number): number {
  const fit = Math.floor(maxBytes / Math.max(rowBytes, 1));
  return fit < 64 ? 0 : 64 * 2 ** Math.floor(Math.log2(fit / 64));
}

/** A view's bind-group resource: its range in the one buffer of the tensor that holds it. */
function viewResource(b: TensorView): GPUBufferBinding {
  const [r] = b.tensor.ranges(b.offset, b.size);
  return { buffer: r!.buffer, offset: r!.offset, size: b.size };
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/**
 * The error for an allocation the GPU refused: names the buffer and the memory category that failed
 * (what the studio's memory chart shows), with what each category already held.
 */
export function outOfMemory(
  label: string,
  category: MemoryCategory,
  bytes: number,
  inUse: Record<MemoryCategory, number>,
  detail: string,
): OutOfMemoryError {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const held = Object.entries(inUse)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${mib(n)}`)
    .join(', ');
  return new OutOfMemoryError(
    `GPU out of memory allocating ${category} (${label}, ${mib(bytes)}); already in use: ` +
      `${held || 'nothing'}. ${detail}`,
    bytes,
    category,
  );
}
