/**
 * The engine's Web Worker: owns the GPU device and exposes one `EngineApi` object through comlink.
 * Never imports src/ui or src/store. Methods whose engine side has not landed yet throw
 * NotAvailableYetError, which the UI shows in place.
 */
import * as Comlink from 'comlink';
import type { AdapterSummary } from '../engine/device.ts';
import { createBrowserRuntime } from '../engine/browser-host.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { EngineApi, SelfTestResult } from './protocol.ts';
import { runSelfTest } from './self-test.ts';
import { NotAvailableYetError } from './errors.ts';

let runtime: Promise<Runtime> | null = null;

function getRuntime(): Promise<Runtime> {
  runtime ??= createBrowserRuntime().catch((e: unknown) => {
    runtime = null;
    throw e;
  });
  return runtime;
}

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
  async loadModel() {
    return notYet('Loading models');
  },
  async loadData() {
    return notYet('Loading training data');
  },
  async dataAtContext() {
    return notYet('Loading training data');
  },
  async planMemory() {
    return notYet('Memory planning');
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
  async listCheckpoints() {
    return [];
  },
  async deleteCheckpoint() {
    return notYet('Checkpoints');
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
