/** Random-access byte sources: files are read piece by piece, never held whole in memory. */
import { FormatError } from './errors.ts';

/** Anything bytes can be read from at an offset (a browser File, a Node file handle, an in-memory array). */
export interface ByteSource {
  /** The file's name (a path relative to the dropped folder, or a base name). */
  name: string;
  size: number;
  /** Reads exactly `length` bytes at `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over a browser File (or any Blob with a name), read through slices. */
export function fileSource(file: Blob & { name: string; webkitRelativePath?: string }): ByteSource {
  return {
    name: file.webkitRelativePath || file.name,
    size: file.size,
    async read(offset, length) {
      const buf = await file.slice(offset, offset + length).arrayBuffer();
      return new Uint8Array(buf);
    },
  };
}

/** A source over bytes already in memory (tests, fixtures, files unpacked from a zip). */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset, length) {
      // slice() copies, so typed views over the result start 0-aligned.
      return Promise.resolve(bytes.slice(offset, Math.min(bytes.length, offset + length)));
    },
  };
}

/** The last path component of a source's name. */
export function baseName(name: string): string {
  const i = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  return i < 0 ? name : name.slice(i + 1);
}

/** Reads a whole (small) source as UTF-8 text. */
export async function readText(src: ByteSource): Promise<string> {
  return new TextDecoder().decode(await src.read(0, src.size));
}

/** Reads a whole (small) source as JSON; a parse failure is a FormatError naming the file. */
export async function readJson(src: ByteSource): Promise<unknown> {
  const text = await readText(src);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new FormatError(src.name, `invalid JSON (${(e as Error).message})`);
  }
}
