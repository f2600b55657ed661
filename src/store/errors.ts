/** Turns any error (engine, worker, browser) into what the UI shows: a title and what to do. */

export interface ShownError {
  name: string;
  title: string;
  message: string;
  action: string;
}

const HINTS: Record<string, { title: string; action: string }> = {
  WebGPUUnavailableError: {
    title: 'WebGPU is not available',
    action: 'Open the studio in Chrome or Edge 113 or newer, with hardware acceleration on.',
  },
  DeviceLostError: {
    title: 'The GPU device was lost',
    action:
      'Resume from the latest checkpoint below: the studio re-creates the GPU device, no reload needed.',
  },
  OutOfMemoryError: {
    title: 'Out of GPU memory',
    action: 'Lower the target context, the LoRA rank or the accumulation, then start again.',
  },
  FormatError: {
    title: 'The file could not be read',
    action: 'Check that it is a complete safetensors, GGUF, text or JSON file and try again.',
  },
  QuotaExceededError: {
    title: 'Browser storage is full',
    action: 'Delete old checkpoints below, or allow persistent storage, then try again.',
  },
  CheckpointError: {
    title: 'The checkpoint cannot be used',
    action: 'Load the model it was trained on, or pick another checkpoint.',
  },
};

/** Describes an error for display; unknown errors keep their message. */
export function describeError(e: unknown): ShownError {
  const name =
    e && typeof e === 'object' && 'name' in e && typeof e.name === 'string' ? e.name : 'Error';
  const message =
    e && typeof e === 'object' && 'message' in e && typeof e.message === 'string'
      ? e.message
      : String(e);
  const hint = HINTS[name];
  return {
    name,
    title: hint?.title ?? 'Something went wrong',
    message,
    action: hint?.action ?? 'Try again; if it persists, reload the page.',
  };
}
