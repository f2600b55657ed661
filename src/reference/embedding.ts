/** Reference token embedding in float64. */

/** out[t, :] = table[ids[t], :] (a zero row for ids ≥ V). */
export function embeddingForward(
  ids: ArrayLike<number>,
  table: ArrayLike<number>,
  T: number,
  D: number,
): Float64Array {
  const V = table.length / D;
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    const id = ids[t]!;
    if (id >= V) continue;
    for (let d = 0; d < D; d++) out[t * D + d] = table[id * D + d]!;
  }
  return out;
}

/** dTable (V rows) with dTable[ids[t], :] += dOut[t, :], starting from zeros. */
export function embeddingBackward(
  ids: ArrayLike<number>,
  dOut: ArrayLike<number>,
  V: number,
  T: number,
  D: number,
): Float64Array {
  const dTable = new Float64Array(V * D);
  for (let t = 0; t < T; t++) {
    const id = ids[t]!;
    if (id >= V) continue;
    for (let d = 0; d < D; d++) dTable[id * D + d] = dTable[id * D + d]! + dOut[t * D + d]!;
  }
  return dTable;
}
