/** Checkpoint storage in a folder (Node): each checkpoint is written to `<id>.tmp/` and renamed. */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from './checkpoint.ts';

const safe = (key: string) => key.replace(/[^A-Za-z0-9._-]/g, '_');

/** A BlobStore in a directory; commit is an atomic rename of the finished folder. */
export class FolderBlobStore implements BlobStore {
  constructor(readonly dir: string) {}

  async putChunks(id: string, chunks: [string, Uint8Array][]): Promise<void> {
    const tmp = join(this.dir, `${safe(id)}.tmp`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    for (const [k, v] of chunks) await writeSynced(join(tmp, `${safe(k)}.bin`), v);
  }

  async commitManifest(id: string, manifest: string): Promise<void> {
    const tmp = join(this.dir, `${safe(id)}.tmp`);
    await mkdir(tmp, { recursive: true });
    await writeSynced(join(tmp, 'manifest.json'), new TextEncoder().encode(manifest));
    const final = join(this.dir, safe(id));
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  }

  async manifests(): Promise<string[]> {
    if (!existsSync(this.dir)) return [];
    const out: string[] = [];
    for (const e of await readdir(this.dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.endsWith('.tmp')) continue;
      const m = await readFile(join(this.dir, e.name, 'manifest.json'), 'utf8').catch(
        () => undefined,
      );
      if (m !== undefined) out.push(m);
    }
    return out;
  }

  async getManifest(id: string): Promise<string | undefined> {
    return readFile(join(this.dir, safe(id), 'manifest.json'), 'utf8').catch(() => undefined);
  }

  async getChunk(id: string, key: string): Promise<Uint8Array | undefined> {
    const b = await readFile(join(this.dir, safe(id), `${safe(key)}.bin`)).catch(() => undefined);
    return b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : undefined;
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, safe(id)), { recursive: true, force: true });
    await rm(join(this.dir, `${safe(id)}.tmp`), { recursive: true, force: true });
  }
}

async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
