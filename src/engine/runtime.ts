/**
 * The GPU runtime every kernel launcher goes through: one facade over the device's pieces, each in
 * its own module — tensors and bindings (tensor.ts), allocation and per-category byte accounting
 * (allocator.ts), the pipeline cache (pipelines.ts), the uniform arena (uniform-arena.ts), dispatch
 * recording into few command buffers (encoding.ts), read-back (readback.ts), and the named errors
 * (out of memory, device lost, shader compilation) surfaced at the next sync point
 * (device-errors.ts).
 */
import type { AdapterSummary, GpuHandle } from './device.ts';
import { TensorAllocator } from './allocator.ts';
import { DeviceErrors } from './device-errors.ts';
import {
  checkBindings,
  CommandRecorder,
  lap,
  type DispatchSpec,
  type HostProfile,
} from './encoding.ts';
import type { DeviceLostError } from './errors.ts';
import type { MemoryCategory, MemoryTracker } from './memory.ts';
import { PipelineCache, type ShaderLoader } from './pipelines.ts';
import { readTensorBytes, tensorValues } from './readback.ts';
import type { RowBlocks } from './row-blocks.ts';
import { partRows, Tensor } from './tensor.ts';
import { UniformArena } from './uniform-arena.ts';
import { InternalError } from '../util/errors.ts';
import { DTYPE_BYTES, type DType } from '../util/dtype.ts';

/** Element types a tensor can hold (bf16/f16 packed two per u32, no shader-f16 needed) and their widths. */
export { DTYPE_BYTES, type DType } from '../util/dtype.ts';
export {
  bindingBytes,
  bindingTensor,
  partRows,
  Tensor,
  type Binding,
  type BufferRange,
  type TensorView,
} from './tensor.ts';
export { emptyHostProfile, type DispatchSpec, type HostProfile } from './encoding.ts';
export type { ShaderLoader } from './pipelines.ts';
export { outOfMemory } from './device-errors.ts';

/** A per-device runtime; create one per GPUDevice. */
export class Runtime {
  readonly device: GPUDevice;
  readonly info: AdapterSummary;
  private readonly errors: DeviceErrors;
  private readonly tensors: TensorAllocator;
  private readonly pipelines: PipelineCache;
  private readonly uniforms: UniformArena;
  private readonly recorder: CommandRecorder;
  /** Dispatches submitted since creation (for tests and benchmarks). */
  dispatchCount = 0;

  constructor(handle: GpuHandle, loadShader: ShaderLoader) {
    this.device = handle.device;
    this.info = handle.info;
    this.errors = new DeviceErrors(this.device);
    this.tensors = new TensorAllocator(this, this.errors);
    this.pipelines = new PipelineCache(this.device, loadShader, this.errors);
    this.uniforms = new UniformArena(this.device);
    this.recorder = new CommandRecorder(this.device, this.uniforms);
  }

  /** Bytes in use per memory category, and their peaks. */
  get memory(): MemoryTracker {
    return this.tensors.memory;
  }

  /** Calls `fn` when the device is lost. Returns an unsubscribe function. */
  onDeviceLost(fn: (e: DeviceLostError) => void): () => void {
    return this.errors.onDeviceLost(fn);
  }

  /**
   * The real cause of a failed GPU call: DeviceLostError (or a pending out-of-memory error) when the
   * device was being lost, rather than the abort it first shows up as (see DeviceErrors.causeOf).
   */
  causeOf(e: unknown): Promise<unknown> {
    return this.errors.causeOf(e);
  }

  /** Throws the device-lost or a pending asynchronous error, if any. */
  checkErrors(): void {
    this.errors.check();
  }

  /** Allocates a tensor, counted under `category`; `data` (optional) is uploaded. */
  tensor(
    shape: readonly number[],
    dtype: DType,
    category: MemoryCategory,
    label: string,
    data?: ArrayBufferView,
  ): Tensor {
    const t = this.tensors.allocate(shape, dtype, category, label, Infinity);
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
    return this.tensors.allocate(shape, dtype, category, label, rows > 0 ? rows * rowBytes : 0);
  }

  /**
   * Allocates a read-staging tensor of `bytes` (MAP_READ | COPY_DST, counted under `category`): the
   * GPU copies into it (Runtime.copy) and the CPU reads it (readStaging); never bound to a kernel.
   * Past maxBufferSize it is stored in parts of `partBytes` (a multiple of 4).
   */
  stagingTensor(
    bytes: number,
    category: MemoryCategory,
    label: string,
    partBytes = this.info.limits.maxBufferSize,
  ): Tensor {
    const words = Math.ceil(bytes / 4);
    return this.tensors.allocate([words], 'u32', category, label, partBytes, 'read-staging');
  }

  /**
   * Waits for every copy submitted into a staging tensor (stagingTensor) to land, copies its first
   * into.byteLength bytes into `into` and unmaps it for the next copy. Submit the copies (flush)
   * first; a mapping that fails because the device was being lost reports the loss.
   */
  async readStaging(t: Tensor, into: Uint8Array): Promise<void> {
    const ranges = t.ranges(0, Math.ceil(into.byteLength / 4) * 4);
    try {
      await Promise.all(ranges.map((r) => r.buffer.mapAsync(GPUMapMode.READ, r.offset, r.bytes)));
    } catch (e) {
      for (const r of ranges) if (r.buffer.mapState === 'mapped') r.buffer.unmap();
      throw await this.errors.causeOf(e);
    }
    for (const r of ranges) {
      const n = Math.min(r.bytes, into.byteLength - r.at);
      into.set(new Uint8Array(r.buffer.getMappedRange(r.offset, r.bytes), 0, n), r.at);
      r.buffer.unmap();
    }
  }

  /**
   * Called by Tensor.destroy(): its cached bind groups go before its buffers do, and its bytes are
   * returned at once; its buffers are destroyed after the next submit while recorded-but-unsubmitted
   * commands may use them (a destroyed buffer in a submit is a validation error).
   */
  release(t: Tensor): void {
    this.recorder.bindGroups.forget(t);
    this.tensors.release(t, (buffers) => this.recorder.destroyBuffers(buffers));
  }

  /**
   * Whether dispatches reuse bind groups (on by default; see bind-groups.ts). Off, every dispatch
   * creates its own, as before the cache: the benchmark's baseline, and the tests' check that both
   * give the same bytes. Switching drops what is cached.
   */
  get bindGroupCache(): boolean {
    return this.recorder.cacheBindGroups;
  }

  set bindGroupCache(on: boolean) {
    this.recorder.cacheBindGroups = on;
    this.recorder.bindGroups.clear();
  }

  /**
   * The uniform arena's counters: Params bytes written to the GPU since creation, dispatches given
   * an existing slot (nothing written) and a new one, the times it started over, and the bytes its
   * slots take now.
   */
  get uniformStats(): {
    bytesWritten: number;
    reused: number;
    staged: number;
    startOvers: number;
    usedBytes: number;
  } {
    const u = this.uniforms;
    return {
      bytesWritten: u.bytesWritten,
      reused: u.reused,
      staged: u.staged,
      startOvers: u.startOvers,
      usedBytes: u.usedBytes,
    };
  }

  /** Bytes past which the uniform arena starts over at the next submit (tests lower it). */
  get uniformArenaBytes(): number {
    return this.uniforms.maxBytes;
  }

  set uniformArenaBytes(n: number) {
    this.uniforms.maxBytes = n;
  }

  /** Bind groups cached now (tests check a destroyed tensor's go with it). */
  get cachedBindGroups(): number {
    return this.recorder.bindGroups.size;
  }

  /**
   * Drops every dispatch, clear and copy recorded since the last submit, unsubmitted (the launch
   * benchmark times recording alone with it).
   */
  discardRecorded(): void {
    this.recorder.discard();
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
    if (this.recorder.pendingCommands > 0) this.flush();
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
    const enc = this.recorder.commands();
    for (const b of t instanceof Tensor ? [t] : t.blocks)
      for (const p of b.parts) enc.clearBuffer(p);
    this.recorder.recorded();
  }

  /** Copies bytes between tensors (recorded in order with dispatches). */
  copy(
    src: Tensor,
    dst: Tensor,
    bytes = Math.min(src.bytes, dst.bytes),
    srcOffset = 0,
    dstOffset = 0,
  ): void {
    const enc = this.recorder.commands();
    for (const a of src.ranges(srcOffset, bytes)) {
      for (const b of dst.ranges(dstOffset + a.at - srcOffset, a.bytes)) {
        const from = a.offset + (b.at - (dstOffset + a.at - srcOffset));
        enc.copyBufferToBuffer(a.buffer, from, b.buffer, b.offset, b.bytes);
      }
    }
    this.recorder.recorded();
  }

  /** The cached compute pipeline for (shader, entry, constants). */
  pipeline(
    shader: string,
    entry = 'main',
    constants: Record<string, number> = {},
  ): GPUComputePipeline {
    return this.pipelines.pipeline(shader, entry, constants);
  }

  /** Compiles a pipeline and waits for it; throws ShaderCompilationError with line numbers. */
  compile(
    shader: string,
    entry = 'main',
    constants: Record<string, number> = {},
  ): Promise<GPUComputePipeline> {
    return this.pipelines.compile(shader, entry, constants);
  }

  /** Number of cached pipelines (tests check the cache is hit). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /**
   * Host time of recording, by phase, added up while set (emptyHostProfile() starts one; null, the
   * default, times nothing). bench/launch.bench.ts reads it.
   */
  get hostProfile(): HostProfile | null {
    return this.recorder.profile;
  }

  set hostProfile(p: HostProfile | null) {
    this.recorder.profile = p;
  }

  /** Records one compute dispatch. */
  dispatch(spec: DispatchSpec): void {
    const prof = this.recorder.profile;
    const t0 = prof ? performance.now() : 0;
    this.checkErrors();
    const label = spec.label ?? spec.shader;
    checkBindings(
      label,
      spec.bindings,
      this.info.limits.maxStorageBufferBindingSize,
      this.device.limits.minStorageBufferOffsetAlignment,
    );
    const t1 = prof ? lap(prof, 'checkMs', t0) : 0;
    const pipeline = this.pipeline(spec.shader, spec.entry, spec.constants);
    if (prof) lap(prof, 'pipelineMs', t1);
    this.recorder.dispatch(spec, pipeline, label);
    this.dispatchCount++;
    if (prof) {
      lap(prof, 'totalMs', t0);
      prof.dispatches++;
    }
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.recorder.flush();
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
  readBytes(t: Tensor, byteOffset = 0, byteLength = t.bytes - byteOffset): Promise<ArrayBuffer> {
    return readTensorBytes(this.device, this.recorder, this.errors, t, byteOffset, byteLength);
  }

  /** Reads a tensor, or a RowBlocks matrix whole, as f32 values (bf16/f16 are decoded). */
  async read(t: Tensor | RowBlocks): Promise<Float32Array<ArrayBuffer>> {
    if (!(t instanceof Tensor)) {
      const out = new Float32Array(t.size);
      for (const p of t.pieces()) out.set(await this.read(p.tensor), p.row0 * t.shape[1]);
      return out;
    }
    return tensorValues(t, await this.readBytes(t));
  }

  /** Live tensors (for leak checks). */
  get liveTensors(): number {
    return this.tensors.liveCount;
  }

  /** Destroys every live tensor and cached buffer; optionally the device too. */
  destroy(destroyDevice = false): void {
    this.recorder.discard();
    this.tensors.destroyAll();
    this.recorder.bindGroups.clear();
    this.uniforms.destroy();
    if (destroyDevice) {
      this.errors.destroying = true;
      this.device.destroy();
    }
  }

  /** Adds WGSL source under a name (generated or test shaders); shaders/ files need no registration. */
  registerShader(name: string, code: string): void {
    this.pipelines.registerShader(name, code);
  }
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}
