/**
 * Exposes the engine API through comlink with errors the page can tell apart: a rejected call is
 * sent as a WorkerError (kind, name, message) — comlink's own handler would send only name and
 * message, and a minified class name says nothing. Also installs the end-to-end tests' error hook.
 */
import * as Comlink from 'comlink';
import {
  DeviceLostError,
  GPUValidationError,
  KernelCheckError,
  OutOfMemoryError,
  ShaderCompilationError,
  WebGPUUnavailableError,
} from '../engine/errors.ts';
import {
  AdapterError,
  FormatError,
  GgufExportError,
  LoraGgufTrainedError,
  UnsupportedModelError,
} from '../io/errors.ts';
import { CheckpointError, StorageQuotaError } from '../train/checkpoint.ts';
import { DataError } from '../train/data.ts';
import {
  BusyError,
  InternalError,
  NetworkError,
  NotReadyError,
  SettingsError,
  toWorkerError,
} from '../util/errors.ts';
import type { EngineApi } from './protocol.ts';

/** Sends what a call throws as a WorkerError; the page's engine-client re-creates it. */
export function sendErrorsAsWorkerErrors(): void {
  const thrown = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: thrown.canHandle,
    serialize: ({ value }: { value: unknown }) => [
      { isError: true, value: toWorkerError(value) },
      [],
    ],
    deserialize: thrown.deserialize,
  });
}

/**
 * For the end-to-end tests (`page.workers()[0].evaluate`): `__failNextModelLoad(e)` makes the next
 * `loadModel` call throw `e` (a real error, built with one of `__errorClasses`) instead of loading,
 * so the page's handling of errors that cannot be caused on purpose (a lost device, a shader the
 * driver rejects) is tested through the same worker boundary.
 */
function withErrorHook(api: EngineApi): EngineApi {
  let failNext: unknown = null;
  Object.assign(self, {
    __failNextModelLoad: (e: unknown) => {
      failNext = e;
    },
    __errorClasses: {
      WebGPUUnavailableError,
      DeviceLostError,
      OutOfMemoryError,
      ShaderCompilationError,
      GPUValidationError,
      KernelCheckError,
      FormatError,
      UnsupportedModelError,
      AdapterError,
      GgufExportError,
      LoraGgufTrainedError,
      DataError,
      CheckpointError,
      StorageQuotaError,
      BusyError,
      NotReadyError,
      SettingsError,
      NetworkError,
      InternalError,
      Error,
    },
  });
  return {
    ...api,
    loadModel(source, onProgress) {
      const e = failNext;
      failNext = null;
      return e ? Promise.reject(e) : api.loadModel(source, onProgress);
    },
  };
}

/** Exposes `api` to the page (the worker's one comlink endpoint). */
export function exposeEngine(api: EngineApi): void {
  sendErrorsAsWorkerErrors();
  Comlink.expose(withErrorHook(api));
}
