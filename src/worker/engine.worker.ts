/**
 * The engine's Web Worker: owns the GPU device and exposes one `EngineApi` object through comlink.
 * Never imports src/ui or src/store. Methods whose engine side has not been wired yet throw
 * NotAvailableYetError (see "NOT AVAILABLE YET" below), which the UI shows in place.
 */
import * as Comlink from 'comlink';
import type { AdapterSummary } from '../engine/device.ts';
import { createBrowserRuntime } from '../engine/browser-host.ts';
import type { Runtime } from '../engine/runtime.ts';
import { fileSource } from '../io/source.ts';
import { CheckpointStore } from '../train/checkpoint.ts';
import { IdbBlobStore } from '../train/store-idb.ts';
import { DEMO_DATA_FILE, DEMO_MODEL_FILES, fetchDemo } from './demo.ts';
import { NotAvailableYetError } from './errors.ts';
import type { CheckpointInfo, EngineApi, SelfTestResult } from './protocol.ts';
import { runSelfTest } from './self-test.ts';
import {
  buildData,
  dataSummary,
  modelSummary,
  openSession,
  planFor,
  type Session,
  userSources,
} from './session.ts';

let runtime: Promise<Runtime> | null = null;
const session: Session = { model: null, data: null };
let checkpoints: CheckpointStore | null = null;

function getRuntime(): Promise<Runtime> {
  runtime ??= createBrowserRuntime().catch((e: unknown) => {
    runtime = null;
    throw e;
  });
  return runtime;
}

function store(): CheckpointStore {
  checkpoints ??= new CheckpointStore(new IdbBlobStore());
  return checkpoints;
}

// NOT AVAILABLE YET: training, resume, evaluation, passkey, generation and export wait for the
// trainer (src/train/trainer.ts) and the Llama graph (src/model/llama.ts) to land; wire them here.
function notYet(what: string): never {
  throw new NotAvailableYetError(what);
}

const api: EngineApi = {
  async init(): Promise<AdapterSummary> {
    return (await getRuntime()).info;
  },
  async selfTest(): Promise<SelfTestResult> {
    return runSelfTest(await getRuntime());
  },
  async loadModel(source, onProgress) {
    const sources =
      source === 'demo'
        ? await fetchDemo(DEMO_MODEL_FILES, 'reading', onProgress)
        : userSources(source);
    session.model = await openSession(
      sources,
      onProgress,
      source === 'demo' ? 'stories260K (demo)' : undefined,
    );
    session.data = null;
    return modelSummary(session.model);
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
    if (d.dataset.context !== context) {
      const src = fileSource(new File([d.text], d.name));
      const rebuilt = await buildData(session, d.name, src, context, () => undefined);
      session.data = rebuilt;
      return dataSummary(rebuilt);
    }
    return dataSummary(d);
  },
  async planMemory(settings) {
    return planFor(session, (await getRuntime()).info, settings);
  },
  async startTraining() {
    return notYet('Training');
  },
  async pause() {
    return notYet('Training');
  },
  async resume() {
    return notYet('Training');
  },
  async stop() {
    return notYet('Training');
  },
  async listCheckpoints(): Promise<CheckpointInfo[]> {
    const list = await store().list();
    return list.map((c) => ({
      id: c.id,
      runId: c.runId,
      step: c.step,
      createdAt: Date.parse(c.createdAt),
      bytes: c.bytes,
      modelName: c.modelName,
    }));
  },
  async deleteCheckpoint(id) {
    await store().blobs.remove(id);
  },
  async resumeFromCheckpoint() {
    return notYet('Resuming from a checkpoint');
  },
  async evaluate() {
    return notYet('Perplexity evaluation');
  },
  async passkey() {
    return notYet('Passkey retrieval');
  },
  async generate() {
    return notYet('Generation');
  },
  async exportAdapter() {
    return notYet('Adapter export');
  },
};

Comlink.expose(api);
