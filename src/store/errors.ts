/**
 * Turns any error (thrown in the worker, in an `error` event, or on the page) into what the UI
 * shows: a title and what to do, chosen by the error's kind (src/util/errors.ts).
 */
import { toWorkerError, type ErrorKind } from '../util/errors.ts';

export interface ShownError {
  kind: ErrorKind;
  name: string;
  title: string;
  message: string;
  action: string;
}

export interface Hint {
  title: string;
  action: string;
}

/** What the page shows for each kind; a new kind does not compile until it has one. */
export const HINTS: Readonly<Record<ErrorKind, Hint>> = {
  'webgpu-unavailable': {
    title: 'WebGPU is not available',
    action: 'Open the studio in Chrome or Edge 113 or newer, with hardware acceleration on.',
  },
  'device-lost': {
    title: 'The GPU device was lost',
    action:
      'Resume from the latest checkpoint below: the studio re-creates the GPU device, no reload needed.',
  },
  'out-of-memory': {
    title: 'Out of GPU memory',
    action: 'Lower the target context, the LoRA rank or the accumulation, then start again.',
  },
  'shader-compilation': {
    title: 'A GPU kernel failed to compile',
    action:
      'Update the browser and the graphics driver, then reload. If it persists, report the message above: it names the shader and line.',
  },
  'gpu-results': {
    title: 'The GPU computed wrong results',
    action:
      'Update the graphics driver and the browser, then reload; if it persists, this GPU cannot train here — report the message above, it names the kernel.',
  },
  'gpu-validation': {
    title: 'The GPU rejected a command',
    action:
      'This is a bug in the studio, not in your settings: reload and resume from the latest checkpoint, and report the message above.',
  },
  format: {
    title: 'The file could not be read',
    action: 'Check that it is a complete safetensors, GGUF, text or JSON file and try again.',
  },
  'unsupported-model': {
    title: 'This model is not supported',
    action:
      'Pick a Llama (Llama 2, Llama 3.x, TinyLlama, SmolLM2), Mistral, Qwen2 / Qwen2.5 or Qwen3 model: a Hugging Face folder (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM) or a llama, qwen2 or qwen3 GGUF in F32, F16 or BF16, without mixture-of-experts or a sliding window shorter than the target context.',
  },
  adapter: {
    title: 'This adapter does not fit the model',
    action:
      'Load the base model the adapter was trained on, or pick an adapter with LoRA on q/k/v/o/gate/up/down and at most trained embeddings and norms (as LongLoRA Studio and PEFT write them).',
  },
  'gguf-export': {
    title: 'This model cannot be written as a llama.cpp GGUF',
    action:
      'Export the PEFT adapter (.zip, optionally with the merged model) instead and convert it with llama.cpp’s own tools; the message above says what a GGUF cannot express.',
  },
  'lora-gguf-trained': {
    title: 'A LoRA GGUF cannot hold trained embeddings or norms',
    action:
      'Export the merged model GGUF instead (it includes them), or train with embeddings and norms frozen to get a LoRA-only adapter.',
  },
  data: {
    title: 'The training data cannot be used',
    action:
      'Use a .txt file with text in it, .json/.jsonl records with a "text" field (or Alpaca "instruction" and "output" fields), or a .json array of token ids within the vocabulary.',
  },
  checkpoint: {
    title: 'The checkpoint cannot be used',
    action: 'Load the model it was trained on, or pick another checkpoint.',
  },
  'storage-quota': {
    title: 'Browser storage is full',
    action: 'Delete old checkpoints below, or allow persistent storage, then try again.',
  },
  usage: {
    title: 'The command line is not valid',
    action: 'Run longlora --help for the commands and their options.',
  },
  busy: {
    title: 'Training is using the GPU',
    action: 'Pause or stop the run, then try again.',
  },
  'not-ready': {
    title: 'A step is missing first',
    action: 'Do what the message above asks (load a model, data or a run), then try again.',
  },
  settings: {
    title: 'These training settings cannot run',
    action: 'Change the setting the message above names, then start again.',
  },
  network: {
    title: 'A file could not be downloaded',
    action: 'Check that the studio’s server is still running (npm start), then reload the page.',
  },
  internal: {
    title: 'LongLoRA Studio hit an internal error',
    action:
      'This is a bug, not your input: reload and resume from the latest checkpoint, and report the message above (it names the check that failed).',
  },
  unknown: {
    title: 'Something went wrong',
    action: 'Try again; if it persists, reload the page.',
  },
};

/** Describes an error for display: the hint of its kind, and its own message. */
export function describeError(e: unknown): ShownError {
  const { kind, name, message } = toWorkerError(e);
  return { kind, name, message, ...HINTS[kind] };
}
