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
