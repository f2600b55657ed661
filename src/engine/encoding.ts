/**
 * Recording GPU work: one command encoder collects dispatches, clears and copies (in one compute
 * pass while dispatches follow each other) until flush() submits them with their uniforms; a
 * dispatch's bindings are checked against the device's limits first.
 */
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

/** The command encoder of work recorded since the last submit. */
export class CommandRecorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly uniforms: UniformArena,
  ) {}

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
    const entries: GPUBindGroupEntry[] = spec.bindings.map((b, i) =>
      b instanceof Tensor
        ? { binding: i, resource: { buffer: b.buffer } }
        : { binding: i, resource: viewResource(b) },
    );
    if (spec.params) {
      entries.push({ binding: entries.length, resource: this.uniforms.alloc(spec.params) });
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
    this.pending++;
  }

  /** Submits everything recorded so far, with the uniforms staged for it. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    this.uniforms.upload();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.uniforms.reset();
  }

  /** Drops what was recorded (the runtime is being destroyed). */
  discard(): void {
    this.endPass();
    this.encoder = null;
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

/** A view's bind-group resource: its range in the one buffer of the tensor that holds it. */
function viewResource(b: TensorView): GPUBufferBinding {
  const [r] = b.tensor.ranges(b.offset, b.size);
  return { buffer: r!.buffer, offset: r!.offset, size: b.size };
}
