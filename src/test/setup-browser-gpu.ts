import { createBrowserRuntime } from '../engine/browser-host.ts';
import { idbTuneStore } from '../engine/tune-store.ts';
import { IdbBlobStore } from '../train/store-idb.ts';

let n = 0;
globalThis.__longloraTestHost = {
  name: 'browser',
  create: (caps) => createBrowserRuntime(caps),
  blobStore: async (name) =>
    new IdbBlobStore(`longlora-test-${name}-${Date.now()}-${n++}`, 'checkpoints'),
  tuneStore: async (name) => idbTuneStore(`longlora-tune-test-${name}-${Date.now()}-${n++}`),
  // Vite serves public/ at the root, as the studio fetches the demo.
  demoAsset: async (name) => {
    const r = await fetch(`/demo/${name}`);
    if (!r.ok) throw new Error(`/demo/${name}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  },
};
