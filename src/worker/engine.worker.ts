/**
 * The engine's Web Worker: owns the GPU device and exposes one `EngineApi` object through comlink.
 * Never imports src/ui or src/store. The state (runtime, model, data, job) lives in StudioEngine.
 */
import * as Comlink from 'comlink';
import type { AdapterSummary } from '../engine/device.ts';
import { createBrowserRuntime } from '../engine/browser-host.ts';
import { fileSource } from '../io/source.ts';
import { CheckpointStore } from '../train/checkpoint.ts';
import { IdbBlobStore } from '../train/store-idb.ts';
import { BusyError } from '../util/errors.ts';
import { DEMO_DATA_FILE, DEMO_MODEL_FILES, fetchDemo } from './demo.ts';
import {
  DEMO_MODEL_NAME,
  type CheckpointInfo,
  type EngineApi,
  type SelfTestResult,
} from './protocol.ts';
import { exposeEngine } from './expose.ts';
import { runSelfTest } from './self-test.ts';
import {
  buildData,
  dataSummary,
  modelSummary,
  openSession,
  planFor,
  userSources,
} from './session.ts';
import { StudioEngine } from './studio-engine.ts';

const engine = new StudioEngine(createBrowserRuntime, new CheckpointStore(new IdbBlobStore()));
const session = engine.session;

const api: EngineApi = {
  async init(): Promise<AdapterSummary> {
    return (await engine.runtime()).info;
  },
  async selfTest(): Promise<SelfTestResult> {
    return runSelfTest(await engine.runtime());
  },
  async loadModel(source, onProgress) {
    if (engine.busy) throw new BusyError('Stop the run before loading another model.');
    const sources =
      source === 'demo'
        ? await fetchDemo(DEMO_MODEL_FILES, 'reading', onProgress)
        : userSources(source);
    const model = await openSession(
      sources,
      onProgress,
      source === 'demo' ? DEMO_MODEL_NAME : undefined,
    );
    engine.dropJob();
    session.model = model;
    session.data = null;
    return modelSummary(model);
  },
  async loadData(source, onProgress) {
    const context = session.model?.opened.config.maxPositions ?? 0;
    const src =
      source === 'demo'
        ? (await fetchDemo([DEMO_DATA_FILE], 'reading', onProgress))[0]!
        : fileSource(source);
    const name = source === 'demo' ? DEMO_DATA_FILE : source.name;
    session.data = await buildData(session, name, src, context * 4, onProgress);
    return dataSummary(session.data);
  },
  async dataAtContext(context) {
    const d = session.data;
    if (!d) throw new Error('No training data is loaded.');
    if (d.dataset.context !== context && !engine.busy) {
      const src = fileSource(new File([d.text], d.name));
      const rebuilt = await buildData(session, d.name, src, context, () => undefined);
      session.data = rebuilt;
      return dataSummary(rebuilt);
    }
    return dataSummary(d);
  },
  async planMemory(settings) {
    return planFor(session, (await engine.runtime()).info, settings);
  },
  startTraining: (settings, onEvents) => engine.start(settings, onEvents),
  async pause() {
    engine.pause();
  },
  async resume() {
    engine.resume();
  },
  stop: () => engine.stop(),
  async listCheckpoints(): Promise<CheckpointInfo[]> {
    const list = await engine.store.list();
    return list.map((c) => ({
      id: c.id,
      runId: c.runId,
      step: c.step,
      createdAt: Date.parse(c.createdAt),
      bytes: c.bytes,
      modelName: c.modelName,
    }));
  },
  deleteCheckpoint: (id) => engine.store.delete(id),
  resumeFromCheckpoint: (id, onEvents) => engine.resumeFrom(id, onEvents),
  evaluate: (context) => engine.evaluate(context),
  passkey: (length, seed) => engine.passkey(length, seed),
  generate: (prompt, maxTokens, onToken) => engine.generate(prompt, maxTokens, onToken),
  async exportAdapter(options) {
    const file = await engine.exportAdapter(options);
    return Comlink.transfer(file, [file.bytes.buffer]);
  },
};

// For the end-to-end tests: destroys the GPU device as a driver reset would (page.workers()[0].evaluate).
(self as unknown as { __loseDevice?: () => Promise<void> }).__loseDevice = async () => {
  (await engine.runtime()).device.destroy();
};

exposeEngine(api);
