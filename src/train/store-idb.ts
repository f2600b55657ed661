/**
 * Checkpoint storage in IndexedDB: the manifests in one database (idb-keyval), each checkpoint's
 * chunks in a database of their own, written first; the manifest is written last.
 *
 * Why a database per checkpoint: a key deleted from a database stays in IndexedDB's files until the
 * browser compacts them, which it does lazily. With retention deleting a checkpoint every few steps,
 * Chromium's usage then grew by a whole checkpoint per commit (the soak: 0.78 → 7.2 MB over 200 steps
 * with 3 × 0.64 MB kept). Deleting a database removes its files at once.
 *
 * Why each chunk is stored as a Blob: Chromium keeps a Blob in a file of its own, deleted with its
 * database, but a smaller value (under 64 KB) inline in its LevelDB files, shared by every database
 * of the origin, where a deleted one again waits for a compaction. With inline chunks the soak's
 * usage settled half a megabyte above the kept checkpoints (2.12 → 2.62 MB from the 3rd commit to
 * step 200); as Blobs it stays at the checkpoints' size (1.97 → 1.99 MB from step 100 to 200).
 */
import { createStore, del, delMany, get, keys, set, type UseStore } from 'idb-keyval';
import type { BlobStore } from './checkpoint.ts';

/** Chunks per IndexedDB transaction (bounds a transaction's memory). */
const BATCH = 8;
const CHUNKS = 'chunks';

const done = (r: IDBRequest | IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    if (r instanceof IDBTransaction) {
      r.oncomplete = () => resolve();
      r.onabort = r.onerror = () => reject(r.error ?? new DOMException('aborted', 'AbortError'));
    } else {
      r.onsuccess = () => resolve();
      r.onerror = () => reject(r.error);
    }
  });

/** A BlobStore in the browser's IndexedDB. */
export class IdbBlobStore implements BlobStore {
  private readonly store: UseStore;
  /** Open chunk databases, by checkpoint id (closed when deleted, or when another tab deletes one). */
  private readonly open = new Map<string, Promise<IDBDatabase | undefined>>();

  constructor(
    private readonly dbName = 'longlora-studio',
    storeName = 'checkpoints',
  ) {
    this.store = createStore(dbName, storeName);
  }

  /** The database holding checkpoint `id`'s chunks. */
  chunkDbName(id: string): string {
    return `${this.dbName}:chunks:${id}`;
  }

  /**
   * Opens `id`'s chunk database; with `create` false, a database that does not exist is not
   * created (undefined: a checkpoint written before chunks had their own database, or none).
   */
  private db(id: string, create: boolean): Promise<IDBDatabase | undefined> {
    const cached = this.open.get(id);
    if (cached) return cached;
    const p = new Promise<IDBDatabase | undefined>((resolve, reject) => {
      const req = indexedDB.open(this.chunkDbName(id), 1);
      let absent = false;
      req.onupgradeneeded = () => {
        if (!create) {
          absent = true;
          req.transaction!.abort();
          return;
        }
        req.result.createObjectStore(CHUNKS);
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another tab deleting this checkpoint must not wait for this connection.
        db.onversionchange = () => {
          db.close();
          this.open.delete(id);
        };
        resolve(db);
      };
      req.onerror = () => {
        if (absent) resolve(undefined);
        else reject(req.error);
      };
    });
    this.open.set(id, p);
    // Not cached: a database found absent (it may be created later), or one that failed to open.
    p.then(
      (db) => db ?? this.open.delete(id),
      () => this.open.delete(id),
    );
    return p;
  }

  async putChunks(id: string, chunks: [string, Uint8Array][]): Promise<void> {
    const db = (await this.db(id, true))!;
    for (let i = 0; i < chunks.length; i += BATCH) {
      const tx = db.transaction(CHUNKS, 'readwrite');
      const s = tx.objectStore(CHUNKS);
      for (const [k, v] of chunks.slice(i, i + BATCH))
        s.put(new Blob([v as Uint8Array<ArrayBuffer>]), k);
      await done(tx);
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
    const db = await this.db(id, false);
    // Checkpoints written before chunks had their own database keep them beside the manifests.
    if (!db) return (await get<Uint8Array>(`chunk:${id}:${key}`, this.store)) ?? undefined;
    const req = db.transaction(CHUNKS, 'readonly').objectStore(CHUNKS).get(key);
    await done(req);
    const v = req.result as Blob | Uint8Array | undefined;
    // Chunks written before they were stored as Blobs are Uint8Arrays.
    return v instanceof Blob ? new Uint8Array(await v.arrayBuffer()) : (v ?? undefined);
  }

  async remove(id: string): Promise<void> {
    await del(`manifest:${id}`, this.store);
    const db = await this.open.get(id)?.catch(() => undefined);
    db?.close();
    this.open.delete(id);
    await done(indexedDB.deleteDatabase(this.chunkDbName(id)));
    const legacy = (await keys(this.store)).map(String).filter((k) => k.startsWith(`chunk:${id}:`));
    if (legacy.length) await delMany(legacy, this.store);
  }
}
