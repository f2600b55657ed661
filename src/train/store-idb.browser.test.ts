/**
 * The IndexedDB checkpoint store in headless Chromium: each checkpoint's chunks in a database of
 * its own, each chunk a Blob, deleted with it (so the browser frees the space at once); reading a checkpoint never
 * creates a database; checkpoints of the earlier layout (chunks beside the manifests) still load and
 * delete.
 */
import { createStore, keys, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { CheckpointStore, type CheckpointManifest } from './checkpoint.ts';
import { testManifest } from '../test/manifest.ts';
import { IdbBlobStore } from './store-idb.ts';

let n = 0;
const fresh = () => `longlora-idb-test-${Date.now()}-${n++}`;

const databases = async (prefix: string) =>
  (await indexedDB.databases())
    .map((d) => d.name!)
    .filter((d) => d.startsWith(prefix))
    .sort();

describe('IdbBlobStore', () => {
  it('keeps a database per checkpoint and deletes it with the checkpoint (retention)', async () => {
    const name = fresh();
    const blobs = new IdbBlobStore(name, 'checkpoints');
    const store = new CheckpointStore(blobs);
    const w = new Float32Array(3000).map((_, i) => i * 0.5);
    for (let step = 1; step <= 5; step++)
      await store.save(testManifest('run', step), new Map([['w', w]]), { keep: 2 });
    expect(await databases(`${name}:chunks:`)).toEqual([
      blobs.chunkDbName('run-step000004'),
      blobs.chunkDbName('run-step000005'),
    ]);
    expect((await store.load('run-step000004')).tensors.get('w')).toEqual(w);
    // The manifests' database holds manifests only.
    const main = (await keys(createStore(name, 'checkpoints'))).map(String).sort();
    expect(main).toEqual(['manifest:run-step000004', 'manifest:run-step000005']);
    await store.delete('run-step000004');
    await store.delete('run-step000005');
    expect(await databases(`${name}:chunks:`)).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it('a read of a checkpoint without chunks creates no database', async () => {
    const name = fresh();
    const blobs = new IdbBlobStore(name, 'checkpoints');
    expect(await blobs.getChunk('nothing', 'w/0')).toBeUndefined();
    await expect(new CheckpointStore(blobs).load('nothing')).rejects.toThrow(
      'No checkpoint nothing.',
    );
    expect(await databases(`${name}:chunks:`)).toEqual([]);
  });

  it('a checkpoint of the earlier layout (chunks beside the manifests) loads and deletes', async () => {
    const name = fresh();
    const main = createStore(name, 'checkpoints');
    const w = new Float32Array([1, 2, 3, 4]);
    const m: CheckpointManifest = {
      ...testManifest('old', 3),
      version: 1,
      tensors: [{ name: 'w', size: 4, chunks: 1 }],
      bytes: 16,
    };
    await set('chunk:old-step000003:w/0', new Uint8Array(w.buffer.slice(0)), main);
    await set('manifest:old-step000003', JSON.stringify(m), main);
    const store = new CheckpointStore(new IdbBlobStore(name, 'checkpoints'));
    expect((await store.load('old-step000003')).tensors.get('w')).toEqual(w);
    await store.delete('old-step000003');
    expect(await keys(main)).toEqual([]);
    expect(await databases(`${name}:chunks:`)).toEqual([]);
  });

  it('stores each chunk as a Blob (a file Chromium deletes with the database), and still reads chunks stored as bytes', async () => {
    const name = fresh();
    const blobs = new IdbBlobStore(name, 'checkpoints');
    const store = new CheckpointStore(blobs);
    const w = new Float32Array(40).map((_, i) => Math.sin(i));
    await store.save(testManifest('run', 1), new Map([['w', w]]));
    const raw = (db: IDBDatabase, key: string) =>
      new Promise<unknown>((resolve, reject) => {
        const req = db.transaction('chunks', 'readonly').objectStore('chunks').get(key);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    const open = () =>
      new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(blobs.chunkDbName('run-step000001'));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    const db = await open();
    const stored = await raw(db, 'w/0');
    expect(stored).toBeInstanceOf(Blob);
    expect((stored as Blob).size).toBe(w.byteLength);
    // A chunk written as bytes (before Blobs) in the same place reads back the same.
    const v = new Float32Array(40).map((_, i) => Math.cos(i));
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('chunks', 'readwrite');
      tx.objectStore('chunks').put(new Uint8Array(v.buffer.slice(0)), 'w/0');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const again = new CheckpointStore(new IdbBlobStore(name, 'checkpoints'));
    expect((await again.load('run-step000001')).tensors.get('w')).toEqual(v);
    await again.delete('run-step000001');
    expect(await databases(`${name}:chunks:`)).toEqual([]);
  });

  it('another tab deleting a checkpoint is not blocked by this one having read it', async () => {
    const name = fresh();
    const reader = new CheckpointStore(new IdbBlobStore(name, 'checkpoints'));
    const writer = new CheckpointStore(new IdbBlobStore(name, 'checkpoints'));
    await writer.save(testManifest('run', 1), new Map([['w', new Float32Array(8)]]));
    await reader.load('run-step000001'); // leaves its connection open
    await writer.delete('run-step000001');
    expect(await databases(`${name}:chunks:`)).toEqual([]);
  });
});
