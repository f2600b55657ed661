/** Node file sources: reads through a file handle, one range at a time. */
import { open, stat } from 'node:fs/promises';
import type { ByteSource } from './source.ts';

// Node caps one read() at about 2 GiB; bigger tensors are read in pieces.
const MAX_READ = 1 << 30;

/** A ByteSource over a file on disk (its size taken when opened). */
export async function nodeFileSource(path: string, name = path): Promise<ByteSource> {
  const { size } = await stat(path);
  return {
    name,
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      const fh = await open(path, 'r');
      try {
        let done = 0;
        while (done < n) {
          const { bytesRead } = await fh.read(
            out,
            done,
            Math.min(MAX_READ, n - done),
            offset + done,
          );
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === n ? out : out.subarray(0, done);
      } finally {
        await fh.close();
      }
    },
  };
}
