/** The one connection from the page to the engine worker (comlink). */
import * as Comlink from 'comlink';
import { fromWorkerError, type ErrorRecord } from '../util/errors.ts';
import type { EngineApi } from '../worker/protocol.ts';

// A call the worker rejects throws here as a RemoteError with the worker's kind, name and message
// (the worker's throw handler sends a WorkerError); describeError maps it by kind.
const thrown = Comlink.transferHandlers.get('throw')!;
Comlink.transferHandlers.set('throw', {
  canHandle: thrown.canHandle,
  serialize: thrown.serialize,
  deserialize: (wire: unknown) => {
    const w = wire as { isError: boolean; value: unknown };
    throw w.isError ? fromWorkerError(w.value as ErrorRecord) : w.value;
  },
});

let engine: Comlink.Remote<EngineApi> | null = null;

/** The engine worker's API, started on first use. */
export function getEngine(): Comlink.Remote<EngineApi> {
  if (!engine) {
    const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'longlora-engine',
    });
    engine = Comlink.wrap<EngineApi>(worker);
  }
  return engine;
}

export { Comlink };
