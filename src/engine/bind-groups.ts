/**
 * Bind groups reused across steps: a dispatch's bind group is keyed by its pipeline, each binding's
 * tensor, byte offset and size, and its Params' slot in the uniform arena (content-addressed: the
 * same slot whenever the Params bytes are the same, in any order, until the arena starts over; a
 * dispatch whose Params changed, such as AdamW's step count, gets a new slot and a new group), so
 * a step's dispatches over its persistent tensors (weights, LoRA, gradients, moments, the
 * activation layout) create their bind groups once. A tensor's entries are dropped when it is destroyed (Runtime.release calls forget
 * before its buffers are), so no cached group ever names a destroyed buffer; a tensor made later
 * has a new identity and gets new groups. Transient tensors (a kernel's scratch, made and destroyed
 * within a step) miss every time and cost one map insertion and one deletion over a created group.
 */

/** Entries kept at most; past it the cache starts over (a run's steady state needs far fewer). */
const MAX_GROUPS = 16384;

interface Entry {
  group: GPUBindGroup;
  /** The tensors (any object owning buffers) the group binds, whose forget() drops it. */
  owners: object[];
}

/** A pipeline's id for keys and its group-0 layout (getBindGroupLayout costs a native call). */
interface PipelineInfo {
  id: number;
  layout: GPUBindGroupLayout;
}

/** One device's reusable bind groups. */
export class BindGroupCache {
  private readonly groups = new Map<string, Entry>();
  /** Keys of the groups that bind each owner. */
  private readonly byOwner = new Map<object, Set<string>>();
  private readonly ids = new WeakMap<object, number>();
  private readonly pipelines = new WeakMap<GPUComputePipeline, PipelineInfo>();
  private nextId = 1;

  /** A stable small number for an object (a tensor, a uniform chunk), for keys. */
  id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  /** The pipeline's key id and its group-0 layout, fetched once per pipeline. */
  pipeline(p: GPUComputePipeline): PipelineInfo {
    let info = this.pipelines.get(p);
    if (!info) {
      info = { id: this.nextId++, layout: p.getBindGroupLayout(0) };
      this.pipelines.set(p, info);
    }
    return info;
  }

  /** The group cached under `key`, if any. */
  get(key: string): GPUBindGroup | undefined {
    return this.groups.get(key)?.group;
  }

  /** Caches `group` under `key`, to be dropped when any of `owners` is forgotten. */
  set(key: string, group: GPUBindGroup, owners: object[]): void {
    if (this.groups.size >= MAX_GROUPS) this.clear();
    this.groups.set(key, { group, owners });
    for (const o of owners) {
      let keys = this.byOwner.get(o);
      if (!keys) this.byOwner.set(o, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops every group that binds `owner` (its buffers are about to be destroyed). */
  forget(owner: object): void {
    const keys = this.byOwner.get(owner);
    if (!keys) return;
    this.byOwner.delete(owner);
    for (const key of keys) {
      const e = this.groups.get(key);
      if (!e) continue;
      this.groups.delete(key);
      for (const o of e.owners) if (o !== owner) this.byOwner.get(o)?.delete(key);
    }
  }

  /** Number of cached groups (tests check entries go with their tensors). */
  get size(): number {
    return this.groups.size;
  }

  /** Drops everything (the uniform arena's buffers are being destroyed, or the cache is full). */
  clear(): void {
    this.groups.clear();
    this.byOwner.clear();
  }
}
