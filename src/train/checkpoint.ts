/**
 * Checkpoints: a versioned JSON manifest plus f32 tensors stored in chunks, behind one storage
 * interface (IndexedDB in the browser, a folder in Node). A checkpoint becomes visible only when its
 * manifest is committed, after all of its chunks, so a failed write never hides or damages the
 * previous checkpoint.
 */
import { errorKind, StudioError, type ErrorKind } from '../util/errors.ts';
import { storedSettings, type RunSettings } from './settings.ts';
import type { StepRecord, EvalRecord } from './types.ts';
import { readRecord, RECORD_WIDTH, STEP_FIELDS, writeRecord } from './step-history.ts';

export const CHECKPOINT_VERSION = 1;
/** Floats per stored chunk (4 MiB). */
export const CHUNK_FLOATS = 1 << 20;

/** The stored tensor holding a run's older step records (see CheckpointManifest.metrics). */
export const METRICS_TENSOR = '#metrics/steps';

/**
 * All step records but the newest, packed as float32 rows of RECORD_WIDTH values: STEP_FIELDS, then
 * the step's GPU and host memory (step-history.ts).
 */
function packSteps(steps: StepRecord[]): Float32Array {
  const n = steps.length - 1;
  const out = new Float32Array(n * RECORD_WIDTH);
  for (let i = 0; i < n; i++) writeRecord(steps[i]!, out, i * RECORD_WIDTH);
  return out;
}

/**
 * `n` records of `w` values each: checkpoints written before memory was kept have STEP_FIELDS only,
 * those written before host memory was kept end after the GPU memory columns.
 */
function unpackSteps(data: Float32Array, n: number, w: number): StepRecord[] {
  if (data.length !== n * w)
    throw new CheckpointError(
      `The checkpoint's step history has ${data.length} values, expected ${n * w}.`,
    );
  return Array.from({ length: n }, (_, i) => readRecord(data, i * w, w));
}

/** A checkpoint that is missing, damaged, of another version or of another base model. */
export class CheckpointError extends StudioError {
  readonly kind: ErrorKind = 'checkpoint';
}

/** Storage full or refused (quota): the checkpoint was not written; the previous one is intact. */
export class StorageQuotaError extends CheckpointError {
  override readonly kind: ErrorKind = 'storage-quota';
}

export interface TensorEntry {
  name: string;
  size: number;
  chunks: number;
}

export interface CheckpointManifest {
  version: number;
  id: string;
  runId: string;
  /** Optimizer steps done. */
  step: number;
  createdAt: string;
  /** Identifies the base model; resume refuses another model. */
  modelFingerprint: string;
  modelName: string;
  settings: RunSettings;
  data: { epoch: number; index: number; rngState: number; order: number[] };
  /**
   * The run's history. Stored, `steps` holds only the newest record exactly; the older ones are in
   * the float32 tensor METRICS_TENSOR (`packedSteps` records of `packedWidth` values: STEP_FIELDS
   * and the memory columns), so that a long run's history costs 64 bytes a step per kept checkpoint
   * rather than ~350 of JSON. `load` gives them back in `steps` (and removes the tensor), as they
   * were before storing.
   */
  metrics: {
    steps: StepRecord[];
    evals: EvalRecord[];
    packedSteps?: number;
    /**
     * Values per packed record (absent: STEP_FIELDS only, from before memory was recorded; 14: no
     * host memory columns, from before host memory was recorded).
     */
    packedWidth?: number;
  };
  /** For each trainable: `<name>` (param), `<name>#m`, `<name>#v` (the moments, GPU or host). */
  tensors: TensorEntry[];
  bytes: number;
}

export interface CheckpointSummary {
  id: string;
  runId: string;
  step: number;
  createdAt: string;
  bytes: number;
  modelFingerprint: string;
  modelName: string;
  /** The steps the run was set to take (it finished when `step` reached them); null if unreadable. */
  totalSteps: number | null;
}

/** Raw key/value storage a checkpoint store is built on. */
export interface BlobStore {
  /** Writes all entries; implementations make the manifest write the last, atomic step. */
  putChunks(id: string, chunks: [string, Uint8Array][]): Promise<void>;
  commitManifest(id: string, manifest: string): Promise<void>;
  manifests(): Promise<string[]>;
  getManifest(id: string): Promise<string | undefined>;
  getChunk(id: string, key: string): Promise<Uint8Array | undefined>;
  remove(id: string): Promise<void>;
}

/** Checkpoints over a BlobStore. */
export class CheckpointStore {
  constructor(readonly blobs: BlobStore) {}

  /** Stored checkpoints, newest first. Unreadable manifests are skipped, not fatal. */
  async list(): Promise<CheckpointSummary[]> {
    const out: CheckpointSummary[] = [];
    for (const text of await this.blobs.manifests()) {
      try {
        const m = JSON.parse(text) as CheckpointManifest;
        out.push({
          id: m.id,
          runId: m.runId,
          step: m.step,
          createdAt: m.createdAt,
          bytes: m.bytes,
          modelFingerprint: m.modelFingerprint,
          modelName: m.modelName,
          // A manifest of another version may lack settings: it is listed (and refused on load).
          totalSteps: typeof m.settings?.steps === 'number' ? m.settings.steps : null,
        });
      } catch {
        /* a damaged manifest is not listed */
      }
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.step - a.step);
  }

  /**
   * Saves tensors then commits the manifest. Returns the bytes written. With `keep` > 0, the run's
   * older checkpoints beyond the newest `keep` (this one included) are deleted once it is committed.
   */
  async save(
    manifest: Omit<CheckpointManifest, 'tensors' | 'bytes' | 'version'>,
    tensors: Map<string, Float32Array>,
    { keep = 0 }: { keep?: number } = {},
  ): Promise<number> {
    const entries: TensorEntry[] = [];
    const chunks: [string, Uint8Array][] = [];
    let bytes = 0;
    const { steps } = manifest.metrics;
    const packed = steps.length > 1;
    const stored: Iterable<[string, Float32Array]> = packed
      ? [...tensors, [METRICS_TENSOR, packSteps(steps)]]
      : tensors;
    for (const [name, data] of stored) {
      const n = Math.max(1, Math.ceil(data.length / CHUNK_FLOATS));
      entries.push({ name, size: data.length, chunks: n });
      for (let c = 0; c < n; c++) {
        const part = data.subarray(c * CHUNK_FLOATS, Math.min(data.length, (c + 1) * CHUNK_FLOATS));
        const copy = new Uint8Array(part.byteLength);
        copy.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
        chunks.push([`${name}/${c}`, copy]);
        bytes += copy.byteLength;
      }
    }
    const full: CheckpointManifest = {
      ...manifest,
      metrics: packed
        ? {
            ...manifest.metrics,
            steps: steps.slice(-1),
            packedSteps: steps.length - 1,
            packedWidth: RECORD_WIDTH,
          }
        : manifest.metrics,
      version: CHECKPOINT_VERSION,
      tensors: entries,
      bytes: 0,
    };
    const text0 = JSON.stringify(full);
    full.bytes = bytes + text0.length;
    try {
      await this.blobs.putChunks(manifest.id, chunks);
      await this.blobs.commitManifest(manifest.id, JSON.stringify(full));
    } catch (e) {
      await this.blobs.remove(manifest.id).catch(() => {});
      throw asStorageError(e);
    }
    if (keep > 0) await this.prune(manifest.runId, keep, manifest.id);
    return full.bytes;
  }

  /**
   * Deletes a run's checkpoints beyond its newest `keep` (by step; `keepId` is never deleted).
   * Returns the ids deleted.
   */
  async prune(runId: string, keep: number, keepId?: string): Promise<string[]> {
    const mine = (await this.list())
      .filter((c) => c.runId === runId)
      .sort((a, b) => b.step - a.step || b.createdAt.localeCompare(a.createdAt));
    const old = mine.slice(Math.max(1, keep)).filter((c) => c.id !== keepId);
    for (const c of old) await this.blobs.remove(c.id);
    return old.map((c) => c.id);
  }

  /** Loads a checkpoint; refuses unknown versions and (when given) another model. */
  async load(
    id: string,
    expectFingerprint?: string,
  ): Promise<{ manifest: CheckpointManifest; tensors: Map<string, Float32Array> }> {
    const text = await this.blobs.getManifest(id);
    if (text === undefined) throw new CheckpointError(`No checkpoint ${id}.`);
    const manifest = parseManifest(text);
    if (expectFingerprint && manifest.modelFingerprint !== expectFingerprint) {
      throw new CheckpointError(
        `Checkpoint ${id} was made with another base model (${manifest.modelName}); load that model to resume it.`,
      );
    }
    const tensors = new Map<string, Float32Array>();
    for (const t of manifest.tensors) {
      const out = new Float32Array(t.size);
      let at = 0;
      for (let c = 0; c < t.chunks; c++) {
        const chunk = await this.blobs.getChunk(id, `${t.name}/${c}`);
        if (!chunk) throw new CheckpointError(`Checkpoint ${id} is missing data for ${t.name}.`);
        const copy = new Uint8Array(chunk.byteLength);
        copy.set(chunk);
        out.set(new Float32Array(copy.buffer), at);
        at += chunk.byteLength / 4;
      }
      if (at !== t.size)
        throw new CheckpointError(
          `Checkpoint ${id}: ${t.name} has ${at} values, expected ${t.size}.`,
        );
      tensors.set(t.name, out);
    }
    const packed = manifest.metrics.packedSteps;
    if (packed !== undefined) {
      const data = tensors.get(METRICS_TENSOR);
      if (!data) throw new CheckpointError(`Checkpoint ${id} is missing its step history.`);
      const width = manifest.metrics.packedWidth ?? STEP_FIELDS.length;
      manifest.metrics.steps = [...unpackSteps(data, packed, width), ...manifest.metrics.steps];
      delete manifest.metrics.packedSteps;
      delete manifest.metrics.packedWidth;
      manifest.tensors = manifest.tensors.filter((t) => t.name !== METRICS_TENSOR);
      tensors.delete(METRICS_TENSOR);
    }
    return { manifest, tensors };
  }

  delete(id: string): Promise<void> {
    return this.blobs.remove(id);
  }
}

/** Parses and version-checks a manifest. */
export function parseManifest(text: string): CheckpointManifest {
  let m: CheckpointManifest;
  try {
    m = JSON.parse(text) as CheckpointManifest;
  } catch {
    throw new CheckpointError('The checkpoint manifest is not valid JSON.');
  }
  if (m.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `Checkpoint format version ${String(m.version)} is not supported (this studio reads version ${CHECKPOINT_VERSION}).`,
    );
  }
  // Settings written before RunSettings (pattern, group, a nested lora) read as RunSettings.
  m.settings = storedSettings(m.settings);
  return m;
}

function asStorageError(e: unknown): Error {
  if (errorKind(e) === 'storage-quota') {
    return new StorageQuotaError(
      'Storage is full: the checkpoint was not written (the previous one is intact). Free space or delete old checkpoints.',
      { cause: e },
    );
  }
  return e instanceof Error ? e : new CheckpointError(String(e));
}
