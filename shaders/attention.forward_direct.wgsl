// Attention forward, barrier-free variant for CPU adapters (SwiftShader emulates workgroup memory
// and barriers at great cost): the same result as attention.forward.wgsl, o = softmax(scale·q·kᵀ,
// masked by the pattern)·v per query head and the log-sum-exp of each query row.
// q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]. Query head h reads kv head h / (H / KV).
// Threads: one invocation per (query row i, head h) (workgroups [ceil(Tq / ROWS), H]), with no
// workgroup memory and no barriers; it reads keys and values straight from global memory as vec4s
// (hd % 4 == 0; hd is a uniform, bk unused) and visits exactly the keys row i can see: the run
// [firstKey(i), i + qOffset] plus, for s2roll's shifted heads, the wrapped tail [Tk − G/2, Tk).
// With skip = 0 it visits every key and masks with visible(). Online softmax over 4 keys at a time
// (one rescale per 4 keys). Overwrites o and lse.

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
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

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
    acc[d] = vec4<f32>(0.0);
  }
  // Keys row i sees: [lo, hi) plus, for s2roll's first tokens, the tail [lo2, Tk).
  var lo = 0u;
  var hi = p.Tk;
  var lo2 = p.Tk;
  if (p.skip != 0u) {
    lo = firstKey(i, h);
    hi = min(i + p.qOffset + 1u, p.Tk);
    if (p.pattern == 2u && shifted(h) && i < p.G / 2u) { lo2 = max(p.Tk - p.G / 2u, hi); }
  }
  // One flat loop over both ranges, 4 keys per step; slot t is key lo + t, or lo2 + t − n1.
  let n1 = hi - lo;
  let total = n1 + (p.Tk - lo2);
  var m = NEG;
  var l = 0.0;
  for (var t = 0u; t < total; t += 4u) {
    let slot = vec4<u32>(t, t + 1u, t + 2u, t + 3u);
    let ok = slot < vec4<u32>(total);
    // Slots past the end repeat the last key (always in range); their weight is zero.
    let sl = min(slot, vec4<u32>(total - 1u));
    let j = select(vec4<u32>(lo) + sl, vec4<u32>(lo2 - n1) + sl, sl >= vec4<u32>(n1));
    let b = (j * p.KV + kvh) * n4;
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < n4; d++) {
      let qd = qv[d];
      s += vec4<f32>(dot(qd, k[b.x + d]), dot(qd, k[b.y + d]), dot(qd, k[b.z + d]), dot(qd, k[b.w + d]));
    }
    var live = ok;
    if (p.skip == 0u) {
      live = live & vec4<bool>(visible(i, j.x, h), visible(i, j.y, h), visible(i, j.z, h), visible(i, j.w, h));
    }
    s = select(vec4<f32>(NEG), s, live);
    let cmax = max(max(s.x, s.y), max(s.z, s.w));
    if (cmax == NEG) { continue; }
    let mNew = max(m, cmax);
    let alpha = exp(m - mNew);
    let pr = select(vec4<f32>(0.0), exp(s - vec4<f32>(mNew)), live);
    l = l * alpha + (pr.x + pr.y + pr.z + pr.w);
    for (var d = 0u; d < n4; d++) {
      acc[d] = acc[d] * alpha + pr.x * v[b.x + d] + pr.y * v[b.y + d] + pr.z * v[b.z + d] + pr.w * v[b.w + d];
    }
    m = mNew;
  }
  for (var d = 0u; d < n4; d++) { o[row + d] = acc[d] / l; }
  lse[h * p.Tq + i] = m + log(l);
}
