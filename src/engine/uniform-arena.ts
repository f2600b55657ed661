/**
 * The uniform arena: every dispatch's Params bytes live in 64 KiB chunks of one uniform buffer
 * family, content-addressed across submits and steps. A dispatch whose Params equal bytes already
 * in the arena gets that slot (same buffer, same offset) and writes nothing; new Params are staged
 * in the next free slot and written to the GPU once per submit (upload(), before the submit that
 * reads them). A steady-state training step thus writes only the Params that changed (AdamW's step
 * count and learning rate), and the bind groups that include the uniform binding, keyed by its
 * buffer and offset (bind-groups.ts), are the same from step to step.
 *
 * A slot's bytes never change while the arena holds it, so every recorded dispatch reads what it
 * was given. The arena is bounded: past `maxBytes` it starts over (drops every slot and fills its
 * chunks again from the first) at the next submit boundary (after a submit, or after the recorded
 * commands are discarded), never while recorded-but-unsubmitted commands point at its slots; what
 * was submitted before is ordered before the writes that follow it on the queue.
 */

const UNIFORM_CHUNK = 64 * 1024;

/** Bytes the arena fills before it starts over at a submit boundary (1 MiB: 4,096 slots of 256). */
export const UNIFORM_ARENA_BYTES = 1024 * 1024;

/** One slot: Params of `words` u32s at `offset` of chunk `chunk`. */
interface Slot {
  chunk: number;
  offset: number;
  words: number;
  binding: GPUBufferBinding;
  /** The next slot whose bytes have the same hash. */
  next: Slot | undefined;
}

/** Uniform chunks of one device, reused across submits. */
export class UniformArena {
  private chunks: GPUBuffer[] = [];
  /** Each chunk's bytes as the CPU last set them (written or to be written), as u32s. */
  private staging: Uint32Array<ArrayBuffer>[] = [];
  /** The end of the last slot's bytes in each chunk the cursor moved past. */
  private ends: number[] = [];
  /** The next free slot (aligned), and the end of the last slot's bytes in its chunk. */
  private chunk = 0;
  private offset = 0;
  private tail = 0;
  /** Everything staged before this place is on the GPU (or queued to be, before the next submit). */
  private writtenChunk = 0;
  private writtenOffset = 0;
  /** Slots by the hash of their bytes (collisions chained through Slot.next). */
  private slots = new Map<number, Slot>();
  private readonly align: number;
  /** Bytes past which the arena starts over at the next submit boundary (tests lower it). */
  maxBytes = UNIFORM_ARENA_BYTES;
  /** Params bytes written to the GPU since creation. */
  bytesWritten = 0;
  /** Times the arena started over. */
  startOvers = 0;
  /** alloc() calls answered by an existing slot, and by a new one. */
  reused = 0;
  staged = 0;

  constructor(private readonly device: GPUDevice) {
    this.align = device.limits.minUniformBufferOffsetAlignment;
  }

  /**
   * A binding holding `bytes`: the slot that already holds them, else a new one staged for the next
   * upload(). Writes between consecutive new slots cover the alignment gaps between them (one
   * writeBuffer per chunk per submit); a lone changed slot writes its own bytes.
   */
  alloc(bytes: ArrayBuffer): GPUBufferBinding {
    const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
    const u = new Uint32Array(padded);
    const n = u.length;
    let h = Math.imul(n + bytes.byteLength, 0x9e3779b1);
    for (let i = 0; i < n; i++) {
      h = Math.imul(h ^ u[i]!, 0x9e3779b1);
      h ^= h >>> 15;
    }
    const first = this.slots.get(h);
    for (let s = first; s; s = s.next) {
      if (s.words !== n || s.binding.size !== bindingSize(bytes.byteLength)) continue;
      const st = this.staging[s.chunk]!;
      const at = s.offset >>> 2;
      let i = 0;
      while (i < n && st[at + i] === u[i]) i++;
      if (i === n) {
        this.reused++;
        return s.binding;
      }
    }
    const size = bindingSize(bytes.byteLength);
    if (this.offset + size > UNIFORM_CHUNK) {
      this.ends[this.chunk] = this.tail;
      this.chunk++;
      this.offset = 0;
      this.tail = 0;
    }
    while (this.chunks.length <= this.chunk) {
      this.chunks.push(
        this.device.createBuffer({
          label: 'uniform arena',
          size: UNIFORM_CHUNK,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
      );
      this.staging.push(new Uint32Array(UNIFORM_CHUNK / 4));
      this.ends.push(0);
    }
    const offset = this.offset;
    const st = this.staging[this.chunk]!;
    st.set(u, offset >>> 2);
    st.fill(0, (offset >>> 2) + n, (offset + size) >>> 2);
    this.tail = offset + size;
    this.offset = Math.ceil(this.tail / this.align) * this.align;
    const binding = { buffer: this.chunks[this.chunk]!, offset, size };
    this.slots.set(h, { chunk: this.chunk, offset, words: n, binding, next: first });
    this.staged++;
    return binding;
  }

  /**
   * Writes what was staged since the last upload to the GPU (before the submit that reads it);
   * returns the bytes written.
   */
  upload(): number {
    let bytes = 0;
    for (let i = this.writtenChunk; i <= this.chunk && i < this.chunks.length; i++) {
      const from = i === this.writtenChunk ? this.writtenOffset : 0;
      const to = i < this.chunk ? this.ends[i]! : this.tail;
      if (to > from) {
        this.device.queue.writeBuffer(
          this.chunks[i]!,
          from,
          this.staging[i]!,
          from >>> 2,
          (to - from) >>> 2,
        );
        bytes += to - from;
      }
    }
    this.writtenChunk = this.chunk;
    this.writtenOffset = this.offset;
    this.bytesWritten += bytes;
    return bytes;
  }

  /**
   * A submit boundary: nothing recorded and unsubmitted points at a slot (after a submit, or after
   * the recorded commands were dropped). Starts over when past maxBytes.
   */
  boundary(): void {
    if (this.chunk * UNIFORM_CHUNK + this.offset <= this.maxBytes) return;
    this.slots.clear();
    this.chunk = 0;
    this.offset = 0;
    this.writtenChunk = 0;
    this.writtenOffset = 0;
    this.tail = 0;
    this.startOvers++;
  }

  /** Bytes the arena's slots take now (up to maxBytes, plus what one submit records past it). */
  get usedBytes(): number {
    return this.chunk * UNIFORM_CHUNK + this.offset;
  }

  destroy(): void {
    for (const b of this.chunks) b.destroy();
    this.chunks = [];
    this.staging = [];
    this.ends = [];
    this.slots.clear();
    this.chunk = 0;
    this.offset = 0;
    this.tail = 0;
    this.writtenChunk = 0;
    this.writtenOffset = 0;
  }
}

/** A Params binding's size: its bytes padded to 16, as uniform structs are. */
function bindingSize(byteLength: number): number {
  return Math.max(16, Math.ceil(byteLength / 16) * 16);
}

function padTo4(bytes: ArrayBuffer): ArrayBuffer {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(new Uint8Array(bytes));
  return out.buffer;
}
