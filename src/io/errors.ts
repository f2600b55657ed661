/** Errors raised by the file-format readers: every one names the file it is about. */
import { StudioError, type ErrorKind } from '../util/errors.ts';

/** A file that is malformed, truncated or in a layout this studio cannot read. */
export class FormatError extends StudioError {
  readonly kind: ErrorKind = 'format';
  constructor(
    public readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** A well-formed model whose architecture or features the trainer does not support. */
export class UnsupportedModelError extends FormatError {
  override readonly kind: ErrorKind = 'unsupported-model';
}

/**
 * An adapter (a PEFT folder, `--adapter`, `--init-adapter`) that does not fit the model it is used
 * with, or trains something this studio does not (the output layer, a module it has no LoRA for).
 */
export class AdapterError extends FormatError {
  override readonly kind: ErrorKind = 'adapter';
}

/** A model or run that a llama.cpp GGUF cannot express (dynamic RoPE, a tokenizer it has no type for). */
export class GgufExportError extends FormatError {
  override readonly kind: ErrorKind = 'gguf-export';
}

/**
 * A LoRA adapter GGUF asked of a run that also trained embeddings or norms (LoRA+): llama.cpp's LoRA
 * GGUF carries only LoRA pairs, so those would be lost. The merged model GGUF holds them.
 */
export class LoraGgufTrainedError extends FormatError {
  override readonly kind: ErrorKind = 'lora-gguf-trained';
}

/**
 * A value from a file, shown in an error message: short, and safe for anything JSON.parse returns
 * (String() and JSON.stringify() overflow the stack on arrays nested thousands deep).
 */
export function describeValue(v: unknown, max = 80): string {
  if (Array.isArray(v)) {
    const flat = v.every((x) => x === null || typeof x !== 'object');
    if (!flat) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
    const text = JSON.stringify(v);
    return text.length > max ? `${text.slice(0, max)}…] (${v.length} items)` : text;
  }
  if (v !== null && typeof v === 'object') return 'an object';
  const text = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
