/**
 * The engine's Web Worker: owns the GPU device and exposes one `EngineApi` object through comlink.
 * It only dispatches: the state and the work live in StudioEngine. Never imports src/ui or src/store.
 */
import * as Comlink from 'comlink';
import { createBrowserRuntime } from '../engine/browser-host.ts';
import { setTuneStore } from '../engine/kernels/autotune.ts';
import { idbTuneStore } from '../engine/tune-store.ts';
import { fileSource } from '../io/source.ts';
import { CheckpointStore } from '../train/checkpoint.ts';
import { IdbBlobStore } from '../train/store-idb.ts';
import { DEMO_MODEL_NAME } from '../util/demo.ts';
import { DEMO_DATA_FILE, DEMO_MODEL_FILES, fetchDemo } from './demo.ts';
import type { EngineApi } from './protocol.ts';
import { exposeEngine } from './expose.ts';
import { runSelfTest } from './self-test.ts';
import { StudioEngine } from './studio-engine.ts';

// Kernel-tuning choices persist per GPU adapter across sessions.
setTuneStore(idbTuneStore());

const engine = new StudioEngine(createBrowserRuntime, new CheckpointStore(new IdbBlobStore()));

const api: EngineApi = {
  init: () => engine.adapter(),
  selfTest: async () => runSelfTest(await engine.runtime()),
  async loadModel(source, onProgress) {
    if (source !== 'demo') return engine.loadModel(source.map(fileSource), onProgress);
    const files = await fetchDemo(DEMO_MODEL_FILES, 'reading', onProgress);
    return engine.loadModel(files, onProgress, DEMO_MODEL_NAME);
  },
  async loadData(source, context, onProgress) {
    const file =
      source === 'demo'
        ? (await fetchDemo([DEMO_DATA_FILE], 'reading', onProgress))[0]!
        : fileSource(source);
    return engine.loadData(file, context, onProgress);
  },
  dataAtContext: async (context) => engine.dataAtContext(context),
  setDataSeparator: async (separator, context) => engine.setDataSeparator(separator, context),
  planMemory: (settings, budget) => engine.planMemory(settings, budget),
  start: (settings, onEvents) => engine.start(settings, onEvents),
  pause: async () => engine.pause(),
  resume: async () => engine.resume(),
  stop: () => engine.stop(),
  checkpointSoon: async () => engine.checkpointSoon(),
  listCheckpoints: () => engine.listCheckpoints(),
  deleteCheckpoint: (id) => engine.store.delete(id),
  resumeFrom: (id, onEvents, steps) => engine.resumeFrom(id, onEvents, steps),
  evaluate: (context) => engine.evaluate(context),
  passkey: (length, seed) => engine.passkey(length, seed),
  generate: (prompt, maxTokens, onToken) => engine.generate(prompt, maxTokens, onToken),
  async exportAdapter(options) {
    const file = await engine.exportAdapter(options);
    return Comlink.transfer(file, [file.bytes.buffer]);
  },
  async exportCheckpoint(id, options) {
    const file = await engine.exportCheckpoint(id, options);
    return Comlink.transfer(file, [file.bytes.buffer]);
  },
  exportGguf: (options, write, onProgress) =>
    engine.exportGguf(
      options,
      // Chunks go to the page by transfer; a view into a larger buffer is copied first.
      (chunk) => {
        const own =
          chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
            ? chunk
            : chunk.slice();
        return write(Comlink.transfer(own, [own.buffer]));
      },
      onProgress,
    ),
};

// For the end-to-end tests: destroys the GPU device as a driver reset would (page.workers()[0].evaluate).
(self as unknown as { __loseDevice?: () => Promise<void> }).__loseDevice = async () => {
  (await engine.runtime()).device.destroy();
};

exposeEngine(api);
