import type { ESLint } from 'eslint';

/** What each src/ layer may import besides itself (folders, or files under src/). */
export const LAYERS: Record<string, string[]>;
/** Declared per-file exceptions (src/-relative paths). */
export const EXCEPTIONS: Record<string, string[]>;
/** Why `fromRel` (a path under src/) may not import `toRel`, or null when it may. */
export function layerViolation(fromRel: string, toRel: string): string | null;
declare const plugin: ESLint.Plugin;
export default plugin;
