/**
 * Recording GPU work: one command encoder collects dispatches, clears and copies (in one compute
 * pass while dispatches follow each other) until flush() submits them with their uniforms; a
 * dispatch's bindings are checked against the device's limits first.
 */
import { BindGroupCache } from './bind-groups.ts';
import { bindingBytes, bindingTensor, Tensor, type Binding, type TensorView } from './tensor.ts';
import type { UniformArena } from './uniform-arena.ts';
import { TooLargeError } from './errors.ts';
import { InternalError } from '../util/errors.ts';

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

/**
 * Host (JS) milliseconds spent recording dispatches, by phase, while Runtime.hostProfile is set
 * (bench/launch.bench.ts reads it; off by default, when the phases are not timed at all).
 */
export interface HostProfile {
  /** Dispatches recorded while profiling. */
  dispatches: number;
  /** Runtime.dispatch whole: the phases below and the bookkeeping between them. */
  totalMs: number;
  /** Pending-error check and the bindings' limit checks. */
  checkMs: number;
  /** The pipeline cache lookup (and compilation on a miss). */
  pipelineMs: number;
  /** Staging the Params in the uniform arena. */
  uniformMs: number;
  /** Bind group entries, layout and createBindGroup (or the bind-group cache's lookup). */
  bindGroupMs: number;
  /** setPipeline, setBindGroup and dispatchWorkgroups on the open pass. */
  encodeMs: number;
  /** flush(): ending the pass, uploading the uniforms, finish() and submit(). */
  flushMs: number;
  flushes: number;
  /** Bind groups created, and reused from the cache. */
  bindGroupsCreated: number;
  bindGroupsReused: number;
  /** Params bytes written to the GPU by flush() (the uniform arena's new slots). */
  uniformBytes: number;
}

/** A zeroed HostProfile. */
export function emptyHostProfile(): HostProfile {
  return {
    dispatches: 0,
    totalMs: 0,
    checkMs: 0,
    pipelineMs: 0,
    uniformMs: 0,
    bindGroupMs: 0,
    encodeMs: 0,
    flushMs: 0,
    flushes: 0,
    bindGroupsCreated: 0,
    bindGroupsReused: 0,
    uniformBytes: 0,
  };
}

/** The command encoder of work recorded since the last submit. */
export class CommandRecorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  /** Where to add the host time of each phase (null: not timed). */
  profile: HostProfile | null = null;
  /** Bind groups reused across dispatches with the same pipeline, bindings and Params slot. */
  readonly bindGroups = new BindGroupCache();
  /** Off: every dispatch creates its bind group (the cache's benchmark baseline and tests). */
  cacheBindGroups = true;
  /**
   * Buffers of tensors destroyed while recorded commands may still use them: destroyed after the
   * next submit (or when the recorded commands are dropped), not before.
   */
  private readonly doomed: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly uniforms: UniformArena,
  ) {}

  /**
   * Destroys `buffers` now, or after the next submit while commands are recorded (a destroyed
   * buffer in a submit is a validation error).
   */
  destroyBuffers(buffers: readonly GPUBuffer[]): void {
    if (this.pending > 0 || this.encoder) this.doomed.push(...buffers);
    else for (const b of buffers) b.destroy();
  }

  /** Commands recorded and not yet submitted. */
  get pendingCommands(): number {
    return this.pending;
  }

  /** The encoder outside any pass (for clears and copies): ends an open compute pass. */
  commands(): GPUCommandEncoder {
    this.endPass();
    return this.getEncoder();
  }

  /** Counts one recorded command (a clear, a copy or a read's copy). */
  recorded(): void {
    this.pending++;
  }

  /**
   * Records one dispatch of `pipeline` with `spec`'s bindings (and its params in the uniform
   * arena) in the open compute pass.
   */
  dispatch(spec: DispatchSpec, pipeline: GPUComputePipeline, label: string): void {
    const prof = this.profile;
    let t = prof ? performance.now() : 0;
    const uniform = spec.params ? this.uniforms.alloc(spec.params) : null;
    if (prof) t = lap(prof, 'uniformMs', t);
    const bindGroup = this.cacheBindGroups
      ? this.cachedBindGroup(spec.bindings, uniform, pipeline, label)
      : this.createBindGroup(spec.bindings, uniform, pipeline.getBindGroupLayout(0), label);
    if (prof) t = lap(prof, 'bindGroupMs', t);
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
    this.pending++;
    if (prof) lap(prof, 'encodeMs', t);
  }

  /** The bind group of (pipeline, bindings, Params slot) from the cache, created on a miss. */
  private cachedBindGroup(
    bindings: readonly Binding[],
    uniform: GPUBufferBinding | null,
    pipeline: GPUComputePipeline,
    label: string,
  ): GPUBindGroup {
    const cache = this.bindGroups;
    const p = cache.pipeline(pipeline);
    let key = String(p.id);
    for (const b of bindings) {
      key +=
        b instanceof Tensor ? `|${cache.id(b)}` : `|${cache.id(b.tensor)}@${b.offset}+${b.size}`;
    }
    if (uniform) key += `|u${cache.id(uniform.buffer)}@${uniform.offset}+${uniform.size}`;
    const hit = cache.get(key);
    if (hit) {
      if (this.profile) this.profile.bindGroupsReused++;
      return hit;
    }
    const group = this.createBindGroup(bindings, uniform, p.layout, label);
    cache.set(key, group, bindings.map(bindingTensor));
    return group;
  }

  private createBindGroup(
    bindings: readonly Binding[],
    uniform: GPUBufferBinding | null,
    layout: GPUBindGroupLayout,
    label: string,
  ): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) =>
      b instanceof Tensor
        ? { binding: i, resource: { buffer: b.buffer } }
        : { binding: i, resource: viewResource(b) },
    );
    if (uniform) entries.push({ binding: entries.length, resource: uniform });
    if (this.profile) this.profile.bindGroupsCreated++;
    return this.device.createBindGroup({ label, layout, entries });
  }

  /** Submits everything recorded so far, with the uniforms staged for it. */
  flush(): void {
    const prof = this.profile;
    const t = prof ? performance.now() : 0;
    this.endPass();
    if (!this.encoder) {
      this.afterCommands();
      return;
    }
    const bytes = this.uniforms.upload();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.afterCommands();
    if (prof) {
      lap(prof, 'flushMs', t);
      prof.flushes++;
      prof.uniformBytes += bytes;
    }
  }

  /**
   * Drops what was recorded and not submitted. The uniforms staged for it stay in the arena (its
   * slots hold those bytes; the next submit writes them before anything reads them).
   */
  discard(): void {
    this.endPass();
    this.encoder = null;
    this.pending = 0;
    this.afterCommands();
  }

  /** Nothing recorded is pending: the doomed buffers go, and the uniform arena may start over. */
  private afterCommands(): void {
    for (const b of this.doomed) b.destroy();
    this.doomed.length = 0;
    this.uniforms.boundary();
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

/**
 * Checks a dispatch's bindings: a view aligned to `alignment`, inside its tensor and inside one of
 * its buffers; a split tensor bound only through views; nothing over the binding limit.
 */
export function checkBindings(
  label: string,
  bindings: readonly Binding[],
  maxBinding: number,
  alignment: number,
): void {
  for (const b of bindings) {
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
}

/** Adds the time since `t` to `phase`; returns now. */
export function lap(
  prof: HostProfile,
  phase:
    'totalMs' | 'checkMs' | 'pipelineMs' | 'uniformMs' | 'bindGroupMs' | 'encodeMs' | 'flushMs',
  t: number,
): number {
  const now = performance.now();
  prof[phase] += now - t;
  return now;
}

/** A view's bind-group resource: its range in the one buffer of the tensor that holds it. */
function viewResource(b: TensorView): GPUBufferBinding {
  const [r] = b.tensor.ranges(b.offset, b.size);
  return { buffer: r!.buffer, offset: r!.offset, size: b.size };
}
