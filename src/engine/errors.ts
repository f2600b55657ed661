/** Named errors the engine raises; the UI and CLI show each with what to do (by its `kind`). */
import { StudioError } from '../util/errors.ts';

/** Base class so hosts can tell engine errors from bugs. */
export abstract class EngineError extends StudioError {}

/** No WebGPU implementation or no adapter could be found. */
export class WebGPUUnavailableError extends EngineError {
  readonly kind = 'webgpu-unavailable';
}

/** The GPU device was lost (driver reset, tab in background for too long, destroy()). */
export class DeviceLostError extends EngineError {
  readonly kind = 'device-lost';
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** An allocation failed on the device (from an out-of-memory error scope) or would exceed a limit. */
export class OutOfMemoryError extends EngineError {
  readonly kind = 'out-of-memory';
  constructor(
    message: string,
    readonly requestedBytes?: number,
    /** The memory category whose allocation failed (weights, activations, …), when known. */
    readonly category?: string,
  ) {
    super(message);
  }
}

/**
 * One buffer or one binding larger than the runtime's limits (the adapter's, or lower caps): raised
 * by the Runtime before WebGPU would reject it with a raw validation error. Kind 'out-of-memory'.
 */
export class TooLargeError extends OutOfMemoryError {
  constructor(
    /** The tensor (label) or dispatch binding concerned. */
    readonly what: string,
    readonly bytes: number,
    /** 'maxBufferSize' or 'maxStorageBufferBindingSize'. */
    readonly limitName: 'maxBufferSize' | 'maxStorageBufferBindingSize',
    readonly limit: number,
  ) {
    super(
      limitName === 'maxBufferSize'
        ? `${what} needs one buffer of ${bytes} bytes, more than this GPU's largest buffer ` +
            `(maxBufferSize ${limit} bytes).`
        : `${what} binds ${bytes} bytes at once, more than this GPU binds ` +
            `(maxStorageBufferBindingSize ${limit} bytes).`,
      bytes,
    );
  }
}

/** One message from the WGSL compiler. */
export interface ShaderMessage {
  type: string;
  /** The shader file the line is in, when it differs from the module (an `// #include`d file). */
  file?: string;
  lineNum: number;
  linePos: number;
  message: string;
}

/** A WGSL module failed to compile; carries the compiler's messages with line numbers. */
export class ShaderCompilationError extends EngineError {
  readonly kind = 'shader-compilation';
  constructor(
    readonly shader: string,
    readonly messages: ShaderMessage[],
  ) {
    super(
      `WGSL shader "${shader}" failed to compile:\n` +
        messages
          .map(
            (m) => `  ${m.file ?? shader}.wgsl:${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`,
          )
          .join('\n'),
    );
  }
}

/**
 * The GPU computed wrong results: every kernel variant autotuning tried failed its check against a
 * float64 dot product (a driver or hardware fault, or a kernel this GPU miscompiles).
 */
export class KernelCheckError extends EngineError {
  readonly kind = 'gpu-results';
}

/** A GPU validation error that is a bug in the engine rather than the user's input. */
export class GPUValidationError extends EngineError {
  readonly kind = 'gpu-validation';
}
