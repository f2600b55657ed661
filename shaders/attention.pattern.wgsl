// The LongLoRA attention patterns as index arithmetic, shared by every attention kernel through
// `// #include attention.pattern` (the runtime splices it in; it is not a kernel of its own). It reads
// the includer's uniform `p: Params`, spliced in below once for all of them from the launcher's
// layout (attentionUniforms.Params in src/engine/kernels/attention.ts; `skip`, `hd` and `bk` are read
// by the tiled kernels only), together with the constants PATTERN_FULL, PATTERN_S2 and
// PATTERN_S2ROLL, the values of p.pattern (PATTERN_ID in src/util/attention-pattern.ts).

// #params Params

// Positions are global: a dispatch covers query rows qBase … qBase + Tq − 1 of the NQ queries and key
// rows kBase … kBase + Tk − 1 of the N keys (its q/o/dO/dq and k/v/dk/dv bindings are views of
// those rows; lse and D stay whole [H, NQ], see rowStat). The g* functions work on global indices;
// visible, keyRuns and queryRuns below take and return the dispatch's local ones.

// PATTERN_FULL: key j visible to query i iff j <= i + qOffset. PATTERN_S2, PATTERN_S2ROLL (NQ = N):
// heads [0, H/2) causal in groups of G; heads [H/2, H) in segments shifted by G/2 (s2), or in
// rolled order r(x) = (x - G/2) mod N with group r/G (s2roll).
fn shifted(h: u32) -> bool { return p.pattern != PATTERN_FULL && h >= p.H / 2u; }
fn rolled(x: u32) -> u32 { return (x + p.N - p.G / 2u) % p.N; }
fn groupOf(x: u32, h: u32) -> u32 {
  if (!shifted(h)) { return x / p.G; }
  if (p.pattern == PATTERN_S2) { return (x + p.G / 2u) / p.G; }
  return rolled(x) / p.G;
}
fn gVisible(i: u32, j: u32, h: u32) -> bool {
  if (p.pattern == PATTERN_FULL) { return j <= i + p.qOffset; }
  if (groupOf(i, h) != groupOf(j, h)) { return false; }
  if (p.pattern == PATTERN_S2ROLL && shifted(h)) { return rolled(j) <= rolled(i); }
  return j <= i;
}
// Whether global positions x0 <= x1, and all between them, lie in one group of head h. Groups are
// contiguous runs of positions, except s2roll's wrapped last group [N − G/2, N) ∪ [0, G/2): a run
// from one end of it to the other has the same group at both ends but crosses the roll at G/2
// (rolled(x1) < rolled(x0)), and the groups between.
fn sameGroup(x0: u32, x1: u32, h: u32) -> bool {
  let wraps = p.pattern == PATTERN_S2ROLL && shifted(h) && rolled(x1) < rolled(x0);
  return groupOf(x0, h) == groupOf(x1, h) && !wraps;
}
// First key of the contiguous run query i sees (s2roll's wrapped tail excluded); nondecreasing in i.
fn firstKey(i: u32, h: u32) -> u32 {
  let half = p.G / 2u;
  if (p.pattern == PATTERN_FULL) { return 0u; }
  if (!shifted(h)) { return i / p.G * p.G; }
  if (p.pattern == PATTERN_S2) { return max((i + half) / p.G * p.G, half) - half; }
  if (i < half) { return 0u; }
  return rolled(i) / p.G * p.G + half;
}
// First query that sees key j (s2roll's wrapped head excluded); nondecreasing in j.
fn firstQuery(j: u32) -> u32 {
  if (p.pattern == PATTERN_FULL) { return select(0u, j - p.qOffset, j > p.qOffset); }
  return j;
}
// One past the last query of the contiguous run that sees key j; nondecreasing in j.
fn queryEnd(j: u32, h: u32) -> u32 {
  let half = p.G / 2u;
  if (p.pattern == PATTERN_FULL) { return p.NQ; }
  if (!shifted(h)) { return (j / p.G + 1u) * p.G; }
  if (p.pattern == PATTERN_S2) { return min(((j + half) / p.G + 1u) * p.G - half, p.NQ); }
  if (j < half) { return half; }
  return min((rolled(j) / p.G + 1u) * p.G + half, p.NQ);
}
// Keys that query rows [i0, i1] see, as runs: [x, y) plus, for s2roll's first tokens, the wrapped
// tail [z, N) (z = N when there is none).
fn gKeyRuns(i0: u32, i1: u32, h: u32) -> vec3<u32> {
  let hi = min(i1 + p.qOffset + 1u, p.N);
  var lo2 = p.N;
  if (p.pattern == PATTERN_S2ROLL && shifted(h) && i0 < p.G / 2u) { lo2 = max(p.N - p.G / 2u, hi); }
  return vec3<u32>(firstKey(i0, h), hi, lo2);
}
// Queries that see keys [j0, j1] of head h, as runs: [x, y) plus, for s2roll's tail keys, the
// wrapped head [0, z) (z = 0 when there is none; y <= x means an empty first run).
fn gQueryRuns(j0: u32, j1: u32, h: u32) -> vec3<u32> {
  let lo = firstQuery(j0);
  var hi2 = 0u;
  if (p.pattern == PATTERN_S2ROLL && shifted(h) && j1 >= p.N - p.G / 2u) { hi2 = min(p.G / 2u, lo); }
  return vec3<u32>(lo, queryEnd(j1, h), hi2);
}

// The dispatch's local view. Key j (local) visible to query i (local).
fn visible(i: u32, j: u32, h: u32) -> bool { return gVisible(i + p.qBase, j + p.kBase, h); }
// Global positions clamped into this dispatch's rows [base, base + n), made local.
fn localRun(x: vec3<u32>, base: u32, n: u32) -> vec3<u32> {
  return min(max(x, vec3<u32>(base)), vec3<u32>(base + n)) - vec3<u32>(base);
}
// gKeyRuns of local query rows [i0, i1] within this dispatch's keys: [x, y) and [z, Tk), local.
fn keyRuns(i0: u32, i1: u32, h: u32) -> vec3<u32> {
  let r = localRun(gKeyRuns(i0 + p.qBase, i1 + p.qBase, h), p.kBase, p.Tk);
  return vec3<u32>(r.x, max(r.x, r.y), r.z);
}
// gQueryRuns of local keys [j0, j1] within this dispatch's queries: [x, y) and [0, z), local.
fn queryRuns(j0: u32, j1: u32, h: u32) -> vec3<u32> {
  return localRun(gQueryRuns(j0 + p.kBase, j1 + p.kBase, h), p.qBase, p.Tq);
}
// Index of local query row i of head h in lse and D ([H, NQ], bound whole).
fn rowStat(h: u32, i: u32) -> u32 { return h * p.NQ + p.qBase + i; }
// The old value of an output that accumulates over blocks (p.acc = 1), else 0 (overwrite).
fn prior(x: f32) -> f32 { return select(0.0, x, p.acc != 0u); }
fn prior4(x: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), x, p.acc != 0u); }
