import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeRuntime } from '../engine/node-host.ts';
import { FolderBlobStore } from '../train/store-node.ts';

globalThis.__longloraTestHost = {
  name: 'node',
  create: (caps) => createNodeRuntime(undefined, caps),
  blobStore: async (name) =>
    new FolderBlobStore(await mkdtemp(join(tmpdir(), `longlora-${name}-`))),
  demoAsset: async (name) =>
    new Uint8Array(await readFile(new URL(`../../public/demo/${name}`, import.meta.url))),
};
