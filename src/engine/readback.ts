/**
 * Reading tensors back to the CPU: a staging buffer copied into at the end of the recorded work,
 * submitted and mapped; a mapping that fails because the device was being lost reports the loss.
 */
import type { DeviceErrors } from './device-errors.ts';
import type { CommandRecorder } from './encoding.ts';
import type { Tensor } from './tensor.ts';
import { decodeHalves } from '../util/half.ts';
import { InternalError } from '../util/errors.ts';

/** Bytes [byteOffset, byteOffset + byteLength) of a tensor, after everything recorded before. */
export async function readTensorBytes(
  device: GPUDevice,
  recorder: CommandRecorder,
  errors: DeviceErrors,
  t: Tensor,
  byteOffset: number,
  byteLength: number,
): Promise<ArrayBuffer> {
  const enc = recorder.commands();
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = device.createBuffer({
    label: `read ${t.label}`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  for (const r of t.ranges(byteOffset, Math.min(size, t.bytes - byteOffset))) {
    enc.copyBufferToBuffer(r.buffer, r.offset, staging, r.at - byteOffset, r.bytes);
  }
  recorder.recorded();
  recorder.flush();
  try {
    await staging.mapAsync(GPUMapMode.READ);
  } catch (e) {
    throw await errors.causeOf(e);
  }
  const out = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  errors.check();
  return out;
}

/** A whole tensor's bytes as f32 values: f32 as is, bf16/f16 decoded; other dtypes refused. */
export function tensorValues(t: Tensor, bytes: ArrayBuffer): Float32Array<ArrayBuffer> {
  if (t.dtype === 'bf16' || t.dtype === 'f16') {
    return decodeHalves(new Uint16Array(bytes, 0, t.size), t.dtype);
  }
  if (t.dtype !== 'f32') throw new InternalError(`read(): ${t.label} is ${t.dtype}; use readBytes`);
  return new Float32Array(bytes, 0, t.size);
}
