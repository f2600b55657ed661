/** tfjs-backend-webgpu as the comparison baseline, on the same adapter as our runtime. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { timeIt, type TimeOptions } from './timing.ts';

let ready: Promise<WebGPUBackend> | null = null;

/** Initialises tfjs on its WebGPU backend (once). */
export function tfjsBackend(): Promise<WebGPUBackend> {
  ready ??= (async () => {
    if (!(await tf.setBackend('webgpu')))
      throw new Error('tfjs could not start its WebGPU backend');
    await tf.ready();
    return tf.backend() as WebGPUBackend;
  })();
  return ready;
}

/**
 * Median ms of tfjs's f32 matMul(a[m, k], b[n, k], transposeB = true), timed like ours: submit,
 * then await the queue (no read-back).
 */
export async function tfjsMatmulMs(
  m: number,
  n: number,
  k: number,
  opts?: TimeOptions,
): Promise<number> {
  const backend = await tfjsBackend();
  const a = tf.randomUniform([m, k], -1, 1, 'float32');
  const b = tf.randomUniform([n, k], -1, 1, 'float32');
  let c: tf.Tensor | null = null;
  try {
    // tfjs compiles a program per shape: one untimed launch first, so timeIt's warm-up is steady.
    tf.matMul(a, b, false, true).dispose();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
    return await timeIt(
      () => {
        c?.dispose();
        c = tf.matMul(a, b, false, true);
      },
      () => {
        backend.endComputePassEncoder();
        backend.submitQueue();
        return backend.device.queue.onSubmittedWorkDone();
      },
      opts,
    );
  } finally {
    (c as tf.Tensor | null)?.dispose();
    a.dispose();
    b.dispose();
  }
}
