import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli/args.ts';
import {
  DeviceLostError,
  GPUValidationError,
  KernelCheckError,
  OutOfMemoryError,
  ShaderCompilationError,
  WebGPUUnavailableError,
} from '../engine/errors.ts';
import { ARCHITECTURES } from '../io/arch.ts';
import {
  AdapterError,
  FormatError,
  GgufExportError,
  LoraGgufTrainedError,
  UnsupportedModelError,
} from '../io/errors.ts';
import {
  CheckpointError,
  CheckpointStore,
  StorageQuotaError,
  type BlobStore,
} from '../train/checkpoint.ts';
import { DataError } from '../train/data.ts';
import {
  BusyError,
  InternalError,
  NetworkError,
  NotReadyError,
  SettingsError,
  ERROR_KINDS,
  errorKind,
  fromWorkerError,
  RemoteError,
  StudioError,
  toWorkerError,
  type ErrorKind,
} from '../util/errors.ts';
import { describeError, HINTS } from './errors.ts';

/** One instance of every named error class, with the kind and name it must carry. */
const CASES: [Error, ErrorKind, string][] = [
  [new WebGPUUnavailableError('no adapter'), 'webgpu-unavailable', 'WebGPUUnavailableError'],
  [new DeviceLostError('lost', 'destroyed'), 'device-lost', 'DeviceLostError'],
  [new OutOfMemoryError('oom', 1 << 30), 'out-of-memory', 'OutOfMemoryError'],
  [
    new ShaderCompilationError('matmul', [
      { type: 'error', lineNum: 3, linePos: 7, message: 'unresolved identifier' },
    ]),
    'shader-compilation',
    'ShaderCompilationError',
  ],
  [new GPUValidationError('bad bind group'), 'gpu-validation', 'GPUValidationError'],
  [new FormatError('model.safetensors', 'truncated'), 'format', 'FormatError'],
  [
    new UnsupportedModelError('config.json', 'model_type "gpt2" is not supported'),
    'unsupported-model',
    'UnsupportedModelError',
  ],
  [new DataError('story.txt is empty.'), 'data', 'DataError'],
  [new CheckpointError('No checkpoint x.'), 'checkpoint', 'CheckpointError'],
  [new StorageQuotaError('Storage is full'), 'storage-quota', 'StorageQuotaError'],
  [new UsageError('--model is required'), 'usage', 'UsageError'],
  [new BusyError('Stop the run first.'), 'busy', 'BusyError'],
  [new NotReadyError('Load a model first.'), 'not-ready', 'NotReadyError'],
  [new SettingsError('Steps must be at least 1.'), 'settings', 'SettingsError'],
  [new KernelCheckError('autotune: every candidate failed'), 'gpu-results', 'KernelCheckError'],
  [new AdapterError('adapter_model.safetensors', 'rank 4 ≠ 8'), 'adapter', 'AdapterError'],
  [new GgufExportError('config.json', 'dynamic RoPE'), 'gguf-export', 'GgufExportError'],
  [
    new LoraGgufTrainedError('adapter_model.safetensors', 'trained norms'),
    'lora-gguf-trained',
    'LoraGgufTrainedError',
  ],
  [new NetworkError('HTTP 404'), 'network', 'NetworkError'],
  [new InternalError('negative memory'), 'internal', 'InternalError'],
];

describe('error kinds and hints', () => {
  it('gives every kind its own title and action; only unknown is generic', () => {
    const generic = HINTS.unknown;
    const titles = new Set<string>();
    const actions = new Set<string>();
    for (const kind of ERROR_KINDS) {
      const h = HINTS[kind];
      expect(h.title.length, kind).toBeGreaterThan(10);
      expect(h.action.length, kind).toBeGreaterThan(20);
      if (kind !== 'unknown') {
        expect(h.title, kind).not.toBe(generic.title);
        expect(h.action, kind).not.toBe(generic.action);
      }
      titles.add(h.title);
      actions.add(h.action);
    }
    expect(titles.size).toBe(ERROR_KINDS.length);
    expect(actions.size).toBe(ERROR_KINDS.length);
    expect(Object.keys(HINTS).sort()).toEqual([...ERROR_KINDS].sort());
  });

  it('every error class carries its kind and its own name, and is described by its kind', () => {
    // Every kind but unknown has a class.
    expect(new Set(CASES.map(([, k]) => k))).toEqual(
      new Set(ERROR_KINDS.filter((k) => k !== 'unknown')),
    );
    for (const [e, kind, name] of CASES) {
      expect(e).toBeInstanceOf(StudioError);
      expect(e.name).toBe(name);
      expect(errorKind(e), name).toBe(kind);
      const shown = describeError(e);
      expect(shown).toEqual({ kind, name, message: e.message, ...HINTS[kind] });
    }
  });

  it('a full disk is storage-quota, not checkpoint', () => {
    const full = new StorageQuotaError('Storage is full');
    expect(full).toBeInstanceOf(CheckpointError);
    expect(describeError(full).title).toBe('Browser storage is full');
    expect(describeError(full).action).toBe(
      'Delete old checkpoints below, or allow persistent storage, then try again.',
    );
    // The browser's own error (IndexedDB, Cache API) and Node's ENOSPC.
    const dom = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    expect(errorKind(dom)).toBe('storage-quota');
    expect(describeError(dom)).toMatchObject({
      kind: 'storage-quota',
      name: 'QuotaExceededError',
      title: 'Browser storage is full',
      message: 'The quota has been exceeded.',
    });
    const enospc = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    expect(errorKind(enospc)).toBe('storage-quota');
  });

  it('a checkpoint write refused for quota rejects with StorageQuotaError', async () => {
    const removed: string[] = [];
    const full: BlobStore = {
      putChunks: () =>
        Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')),
      commitManifest: () => Promise.resolve(),
      manifests: () => Promise.resolve([]),
      getManifest: () => Promise.resolve(undefined),
      getChunk: () => Promise.resolve(undefined),
      remove: (id) => {
        removed.push(id);
        return Promise.resolve();
      },
    };
    const save = new CheckpointStore(full).save(
      {
        id: 'c1',
        runId: 'r1',
        step: 2,
        createdAt: new Date(0).toISOString(),
        modelFingerprint: 'f',
        modelName: 'm',
        settings: {} as never,
        data: { epoch: 0, index: 0, rngState: 0, order: [] },
        metrics: { steps: [], evals: [] },
      },
      new Map([['w', new Float32Array(4)]]),
    );
    const e = await save.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StorageQuotaError);
    expect(errorKind(e)).toBe('storage-quota');
    expect((e as Error).cause).toBeInstanceOf(DOMException);
    expect(removed).toEqual(['c1']);
  });

  it('keeps the kind across the worker boundary (structured clone) and back', () => {
    for (const [e, kind, name] of CASES) {
      const wire = structuredClone(toWorkerError(e));
      expect(wire).toEqual({ kind, name, message: e.message });
      const back = fromWorkerError(wire);
      expect(back).toBeInstanceOf(RemoteError);
      expect(back.kind).toBe(kind);
      expect(back.name).toBe(name);
      expect(describeError(back).title).toBe(HINTS[kind].title);
      // error events carry the record itself
      expect(describeError(wire).title).toBe(HINTS[kind].title);
    }
    expect(fromWorkerError({ kind: 'nonsense' as ErrorKind, name: 'X', message: 'm' }).kind).toBe(
      'unknown',
    );
  });

  it('anything else is unknown, with its message kept', () => {
    expect(describeError(new Error('boom'))).toEqual({
      kind: 'unknown',
      name: 'Error',
      message: 'boom',
      ...HINTS.unknown,
    });
    expect(describeError(new TypeError('x is undefined')).kind).toBe('unknown');
    expect(describeError('a string').message).toBe('a string');
    expect(describeError(null).kind).toBe('unknown');
    expect(describeError({ kind: 'nonsense', name: 'X', message: 'y' }).kind).toBe('unknown');
  });
});

describe('hints that fit their refusal', () => {
  it('the unsupported-model hint names every supported architecture, Qwen included', () => {
    const { action } = HINTS['unsupported-model'];
    for (const a of ARCHITECTURES) {
      expect(action, a.id).toContain(a.hfArchitecture);
      expect(action, a.id).toContain(a.ggufArch);
    }
    expect(action).toMatch(/Qwen2 \/ Qwen2\.5/);
    // Biases (Qwen2) are supported: the hint must not rule them out.
    expect(action).not.toMatch(/bias/i);
  });

  it('a LoRA GGUF of a LoRA+ run is its own refusal, not "This model is not supported"', () => {
    const shown = describeError(
      new LoraGgufTrainedError('adapter_model.safetensors', 'trained 11 embedding/norm tensors'),
    );
    expect(shown.kind).toBe('lora-gguf-trained');
    expect(shown.title).not.toBe(HINTS['unsupported-model'].title);
    expect(shown.title).toMatch(/LoRA GGUF/);
    expect(shown.action).toMatch(/merged model GGUF/);
    expect(shown.action).not.toMatch(/Pick a/);
  });
});
