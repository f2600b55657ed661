import { createBrowserRuntime } from '../engine/browser-host.ts';
import { IdbBlobStore } from '../train/store-idb.ts';

let n = 0;
globalThis.__longloraTestHost = {
  name: 'browser',
  create: (caps) => createBrowserRuntime(caps),
  blobStore: async (name) =>
    new IdbBlobStore(`longlora-test-${name}-${Date.now()}-${n++}`, 'checkpoints'),
};
