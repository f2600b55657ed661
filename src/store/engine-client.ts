/** The one connection from the page to the engine worker (comlink). */
import * as Comlink from 'comlink';
import type { EngineApi } from '../worker/protocol.ts';

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
