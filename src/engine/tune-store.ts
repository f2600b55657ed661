/**
 * Persistent homes for kernel-tuning choices (see kernels/autotune.ts): IndexedDB in the browser
 * (the studio's worker), a JSON file in the user's cache folder for the CLI.
 */
import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { TuneStore } from './kernels/autotune.ts';

/** Tuning choices in IndexedDB (database `longlora-autotune`), one key per shape class. */
export function idbTuneStore(db = 'longlora-autotune'): TuneStore {
  let s: UseStore | null = null;
  const store = () => (s ??= createStore(db, 'choices'));
  return {
    get: (key) => get<string>(key, store()),
    set: (key, choice) => set(key, choice, store()),
  };
}
