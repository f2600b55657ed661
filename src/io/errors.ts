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
