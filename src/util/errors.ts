/**
 * What kind of failure an error is. Every error the studio raises on purpose extends StudioError and
 * carries one `kind`; the kind — not the class name, which a minifier renames — is what crosses the
 * worker boundary and picks what the page shows. A leaf module: it imports nothing from src.
 */

export const ERROR_KINDS = [
  'webgpu-unavailable',
  'device-lost',
  'out-of-memory',
  'shader-compilation',
  'gpu-validation',
  'gpu-results',
  'format',
  'unsupported-model',
  'adapter',
  'gguf-export',
  'lora-gguf-trained',
  'data',
  'checkpoint',
  'storage-quota',
  'usage',
  'busy',
  'not-ready',
  'settings',
  'network',
  'internal',
  'unknown',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Whether `x` names an error kind. */
export function isErrorKind(x: unknown): x is ErrorKind {
  return typeof x === 'string' && (ERROR_KINDS as readonly string[]).includes(x);
}

/** Base of the studio's named errors: `name` is the class's own name, `kind` says what failed. */
export abstract class StudioError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The engine is busy with a run and cannot take this request now. */
export class BusyError extends StudioError {
  readonly kind = 'busy';
}

/** A request that needs something first: a model, data, or a run to act on. */
export class NotReadyError extends StudioError {
  readonly kind = 'not-ready';
}

/** Training settings that cannot run (an invalid group size, no steps, a non-positive lr, …). */
export class SettingsError extends StudioError {
  readonly kind = 'settings';
}

/** A file the studio fetches (the demo model) could not be fetched. */
export class NetworkError extends StudioError {
  readonly kind = 'network';
}

/**
 * A broken invariant: a check no input can fail unless the studio has a bug (a kernel called with
 * shapes its caller validated, a tensor written under a name the parameters do not have). Everything
 * a user's file, setting or command line can cause is another kind.
 */
export class InternalError extends StudioError {
  readonly kind = 'internal';
}

/** An error as plain data (what crosses the worker boundary as `WorkerError`). */
export interface ErrorRecord {
  kind: ErrorKind;
  name: string;
  message: string;
}

/** An error re-created from an ErrorRecord (on the page, from the worker): same kind, name, message. */
export class RemoteError extends StudioError {
  constructor(
    readonly kind: ErrorKind,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

/**
 * The kind of anything thrown: a StudioError's own kind, an ErrorRecord's (or a re-created error's)
 * `kind`, `storage-quota` for the browser's QuotaExceededError (a DOMException from IndexedDB or the
 * Cache API) and Node's ENOSPC, and `unknown` for everything else.
 */
export function errorKind(e: unknown): ErrorKind {
  if (e instanceof StudioError) return e.kind;
  if (!e || typeof e !== 'object') return 'unknown';
  const o = e as { kind?: unknown; name?: unknown; code?: unknown };
  if (isErrorKind(o.kind)) return o.kind;
  if (o.name === 'QuotaExceededError' || o.code === 'ENOSPC') return 'storage-quota';
  return 'unknown';
}

/** Any thrown value as an ErrorRecord (the `WorkerError` the worker sends to the page). */
export function toWorkerError(e: unknown): ErrorRecord {
  const o = e && typeof e === 'object' ? (e as { name?: unknown; message?: unknown }) : null;
  return {
    kind: errorKind(e),
    name: typeof o?.name === 'string' && o.name ? o.name : 'Error',
    message: typeof o?.message === 'string' ? o.message : String(e),
  };
}

/** An ErrorRecord back as a thrown error. */
export function fromWorkerError(r: ErrorRecord): RemoteError {
  return new RemoteError(isErrorKind(r.kind) ? r.kind : 'unknown', r.name, r.message);
}
