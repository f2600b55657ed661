/** Errors raised by the file-format readers: every one names the file it is about. */

/** A file that is malformed, truncated or in a layout this studio cannot read. */
export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    public readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** A well-formed model whose architecture or features the trainer does not support. */
export class UnsupportedModelError extends FormatError {
  override name = 'UnsupportedModelError';
}
