/**
 * The GPU memory a training plan is checked against when the user states none. WebGPU does not
 * report a GPU's memory, so one default stands in for it on every adapter (a common card's memory; a
 * CPU adapter's RAM is usually more). The studio's plan, `longlora --help`, `info`, `eval`, `grad`
 * and `train` all name it through budgetWords. A leaf module (the page imports it).
 */
import { formatBytes } from './bytes.ts';

const GiB = 2 ** 30;

/** The budget assumed when none is stated, in bytes. */
export const DEFAULT_MEMORY_BUDGET = 8 * GiB;

/** The default budget as every text states it: "8 GiB". */
export const DEFAULT_MEMORY_BUDGET_TEXT = `${DEFAULT_MEMORY_BUDGET / GiB} GiB`;

/** A budget as plan texts name it: a stated one by its size ("16.0 GiB"), else "an assumed 8 GiB". */
export function budgetWords(budgetBytes: number, stated: boolean): string {
  return stated ? formatBytes(budgetBytes) : `an assumed ${DEFAULT_MEMORY_BUDGET_TEXT}`;
}
