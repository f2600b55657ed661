/** Checkpoint storage in IndexedDB (idb-keyval): chunks first, the manifest last. */
import { createStore, del, delMany, get, keys, set, setMany, type UseStore } from 'idb-keyval';
import type { BlobStore } from './checkpoint.ts';

/** Chunks per IndexedDB transaction (bounds a transaction's memory). */
const BATCH = 8;

/** A BlobStore in the browser's IndexedDB. */
export class IdbBlobStore implements BlobStore {
  private readonly store: UseStore;
  constructor(dbName = 'longlora-studio', storeName = 'checkpoints') {
    this.store = createStore(dbName, storeName);
  }

  async putChunks(id: string, chunks: [string, Uint8Array][]): Promise<void> {
    for (let i = 0; i < chunks.length; i += BATCH) {
      await setMany(
        chunks
          .slice(i, i + BATCH)
          .map(([k, v]) => [`chunk:${id}:${k}`, v] as [IDBValidKey, unknown]),
        this.store,
      );
    }
  }

  commitManifest(id: string, manifest: string): Promise<void> {
    return set(`manifest:${id}`, manifest, this.store);
  }

  async manifests(): Promise<string[]> {
    const all = (await keys(this.store)).map(String).filter((k) => k.startsWith('manifest:'));
    const out: string[] = [];
    for (const k of all) {
      const v = await get<string>(k, this.store);
      if (typeof v === 'string') out.push(v);
    }
    return out;
  }

  getManifest(id: string): Promise<string | undefined> {
    return get<string>(`manifest:${id}`, this.store);
  }

  async getChunk(id: string, key: string): Promise<Uint8Array | undefined> {
    const v = await get<Uint8Array>(`chunk:${id}:${key}`, this.store);
    return v ?? undefined;
  }

  async remove(id: string): Promise<void> {
    await del(`manifest:${id}`, this.store);
    const mine = (await keys(this.store)).map(String).filter((k) => k.startsWith(`chunk:${id}:`));
    await delMany(mine, this.store);
  }
}
