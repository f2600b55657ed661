// Attention backward, dq part, barrier-free variant for CPU adapters (the same result as
// attention.backward_dq.wgsl): dq_i = scale · Σ_j dS_ij k_j with P_ij = exp(scale·q_i·k_j − lse_i),
// dP_ij = dO_i·v_j, dS_ij = P_ij (dP_ij − D_i), D from attention.backward_prep. Shapes as
// attention.forward.wgsl; D [H, Tq].
// Threads: one invocation per (query row i, head h) (workgroups [ceil(Tq / ROWS), H]), with no
// workgroup memory and no barriers; keys and values come straight from global memory as vec4s
// (hd % 4 == 0) over exactly the keys row i sees (the forward's ranges; with skip = 0 every key,
// masked). dq is OVERWRITTEN (=), summed over keys in a fixed order (deterministic).

struct Params {
  Tq: u32,
  Tk: u32,
  H: u32,
  KV: u32,
  pattern: u32,
  G: u32,
  qOffset: u32,
  skip: u32,
  hd: u32,
  bk: u32,
  scale: f32,
}

override ROWS: u32 = 64u;
const HD4_MAX: u32 = 32u;  // head size up to 128 as vec4s

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> p: Params;

// --- pattern: identical in every attention.*.wgsl (a unit test compares the copies) ---
// pattern 0 full: key j visible to query i iff j <= i + qOffset. 1 s2, 2 s2roll (Tq = Tk = N):
// heads [0, H/2) causal in groups of G; heads [H/2, H) in segments shifted by G/2 (s2), or in
// rolled order r(x) = (x - G/2) mod N with group r/G (s2roll).
fn shifted(h: u32) -> bool { return p.pattern != 0u && h >= p.H / 2u; }
fn rolled(x: u32) -> u32 { return (x + p.Tk - p.G / 2u) % p.Tk; }
fn groupOf(x: u32, h: u32) -> u32 {
  if (!shifted(h)) { return x / p.G; }
  if (p.pattern == 1u) { return (x + p.G / 2u) / p.G; }
  return rolled(x) / p.G;
}
fn visible(i: u32, j: u32, h: u32) -> bool {
  if (p.pattern == 0u) { return j <= i + p.qOffset; }
  if (groupOf(i, h) != groupOf(j, h)) { return false; }
  if (p.pattern == 2u && shifted(h)) { return rolled(j) <= rolled(i); }
  return j <= i;
}
// First key of the contiguous run query i sees (s2roll's wrapped tail excluded); nondecreasing in i.
fn firstKey(i: u32, h: u32) -> u32 {
  let half = p.G / 2u;
  if (p.pattern == 0u) { return 0u; }
  if (!shifted(h)) { return i / p.G * p.G; }
  if (p.pattern == 1u) { return max((i + half) / p.G * p.G, half) - half; }
  if (i < half) { return 0u; }
  return rolled(i) / p.G * p.G + half;
}
// First query that sees key j (s2roll's wrapped head excluded); nondecreasing in j.
fn firstQuery(j: u32) -> u32 {
  if (p.pattern == 0u) { return select(0u, j - p.qOffset, j > p.qOffset); }
  return j;
}
// One past the last query of the contiguous run that sees key j; nondecreasing in j.
fn queryEnd(j: u32, h: u32) -> u32 {
  let half = p.G / 2u;
  if (p.pattern == 0u) { return p.Tq; }
  if (!shifted(h)) { return (j / p.G + 1u) * p.G; }
  if (p.pattern == 1u) { return min(((j + half) / p.G + 1u) * p.G - half, p.Tq); }
  if (j < half) { return half; }
  return min((rolled(j) / p.G + 1u) * p.G + half, p.Tq);
}
// --- end pattern ---

var<private> qv: array<vec4<f32>, HD4_MAX>;
var<private> gv: array<vec4<f32>, HD4_MAX>;
var<private> acc: array<vec4<f32>, HD4_MAX>;

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let h = wg.y;
  let i = wg.x * ROWS + lane;
  if (i >= p.Tq) { return; }
  let n4 = p.hd / 4u;
  let kvh = h / (p.H / p.KV);
  let row = (i * p.H + h) * n4;
  for (var d = 0u; d < n4; d++) {
    qv[d] = q[row + d] * p.scale;
    gv[d] = dO[row + d];
    acc[d] = vec4<f32>(0.0);
  }
  let rowLse = lse[h * p.Tq + i];
  let rowD = D[h * p.Tq + i];
  // The forward's keys: [lo, hi) plus, for s2roll's first tokens, the tail [lo2, Tk).
  var lo = 0u;
  var hi = p.Tk;
  var lo2 = p.Tk;
  if (p.skip != 0u) {
    lo = firstKey(i, h);
    hi = min(i + p.qOffset + 1u, p.Tk);
    if (p.pattern == 2u && shifted(h) && i < p.G / 2u) { lo2 = max(p.Tk - p.G / 2u, hi); }
  }
  let n1 = hi - lo;
  let total = n1 + (p.Tk - lo2);
  for (var t = 0u; t < total; t++) {
    let j = select(lo + t, lo2 + t - n1, t >= n1);
    if (p.skip == 0u && !visible(i, j, h)) { continue; }
    let b = (j * p.KV + kvh) * n4;
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < n4; d++) {
      s += dot(qv[d], k[b + d]);
      dp += dot(gv[d], v[b + d]);
    }
    let ds = exp(s - rowLse) * (dp - rowD);
    for (var d = 0u; d < n4; d++) { acc[d] += ds * k[b + d]; }
  }
  for (var d = 0u; d < n4; d++) { dq[row + d] = acc[d] * p.scale; }
}
