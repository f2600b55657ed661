// Attention forward, barrier-free variant for CPU adapters (SwiftShader emulates workgroup memory
// and barriers at great cost): the same result as attention.forward_tiled.wgsl,
// o = softmax(scale·q·kᵀ, masked by the pattern)·v per query head and the log-sum-exp of each
// query row.
// q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]. Query head h reads kv head h / (H / KV).
// Threads: one invocation per (query row i, head h) (workgroups [ceil(Tq / ROWS), H]), with no
// workgroup memory and no barriers; it holds q_i and the output accumulator in registers (HD4 vec4s
// each), reads keys and values straight from global memory as vec4s (hd % 4 == 0, hd <= 64; hd and bk
// in Params unused) and visits exactly the keys row i can see: the run [firstKey(i), i + qOffset]
// plus, for s2roll's shifted heads, the wrapped tail [Tk − G/2, Tk). With SKIP = false it visits
// every key and masks with visible(). Online softmax over 4 keys at a time (one rescale per 4 keys).
// Overwrites o and lse (over key blocks: this block's partial, merged by attention.merge; a row that
// sees none of the block's keys gets o = 0 and lse = NEG).

override ROWS: u32 = 64u;
// Head size / 4, 1..16 (head size up to 64). The head's row lives in HD4 named vec4 registers per
// operand; SwiftShader keeps private arrays in memory, so the unrolled, HD4-guarded lines below
// (which fold away: HD4 is an override) are several times faster than a loop over an array.
override HD4: u32 = 2u;
// false: visit every key and mask with visible() (the naive comparison mode). An override, not a
// uniform: SwiftShader runs both sides of a branch it cannot prove uniform, so a runtime flag costs
// the mask's integer divisions on every key even when it is off.
override SKIP: bool = true;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// #include attention.pattern

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let h = wg.y;
  let i = wg.x * ROWS + lane;
  if (i >= p.Tq) { return; }
  let kvh = h / (p.H / p.KV);
  let row = (i * p.H + h) * HD4;
  // q_i · scale in q0.., the unnormalised output in a0..
  var q0 = vec4<f32>(0.0); var a0 = vec4<f32>(0.0);
  var q1 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0);
  var q2 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0);
  var q3 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var q4 = vec4<f32>(0.0); var a4 = vec4<f32>(0.0);
  var q5 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0);
  var q6 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0);
  var q7 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var q8 = vec4<f32>(0.0); var a8 = vec4<f32>(0.0);
  var q9 = vec4<f32>(0.0); var a9 = vec4<f32>(0.0);
  var q10 = vec4<f32>(0.0); var a10 = vec4<f32>(0.0);
  var q11 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0);
  var q12 = vec4<f32>(0.0); var a12 = vec4<f32>(0.0);
  var q13 = vec4<f32>(0.0); var a13 = vec4<f32>(0.0);
  var q14 = vec4<f32>(0.0); var a14 = vec4<f32>(0.0);
  var q15 = vec4<f32>(0.0); var a15 = vec4<f32>(0.0);
  {
    q0 = q[row + 0u] * p.scale;
    if (HD4 > 1u) { q1 = q[row + 1u] * p.scale; }
    if (HD4 > 2u) { q2 = q[row + 2u] * p.scale; }
    if (HD4 > 3u) { q3 = q[row + 3u] * p.scale; }
    if (HD4 > 4u) { q4 = q[row + 4u] * p.scale; }
    if (HD4 > 5u) { q5 = q[row + 5u] * p.scale; }
    if (HD4 > 6u) { q6 = q[row + 6u] * p.scale; }
    if (HD4 > 7u) { q7 = q[row + 7u] * p.scale; }
    if (HD4 > 8u) { q8 = q[row + 8u] * p.scale; }
    if (HD4 > 9u) { q9 = q[row + 9u] * p.scale; }
    if (HD4 > 10u) { q10 = q[row + 10u] * p.scale; }
    if (HD4 > 11u) { q11 = q[row + 11u] * p.scale; }
    if (HD4 > 12u) { q12 = q[row + 12u] * p.scale; }
    if (HD4 > 13u) { q13 = q[row + 13u] * p.scale; }
    if (HD4 > 14u) { q14 = q[row + 14u] * p.scale; }
    if (HD4 > 15u) { q15 = q[row + 15u] * p.scale; }
  }
  // Keys row i sees: [lo, hi) plus, for s2roll's first tokens, the tail [lo2, Tk).
  var r = vec3<u32>(0u, p.Tk, p.Tk);
  if (SKIP) { r = keyRuns(i, i, h); }
  let lo = r.x;
  let hi = r.y;
  let lo2 = r.z;
  // One flat loop over both ranges, 4 keys per step; slot t is key lo + t, or lo2 + t − n1.
  let n1 = hi - lo;
  let total = n1 + (p.Tk - lo2);
  var m = NEG;
  var l = 0.0;
  for (var t = 0u; t < total; t += 4u) {
    let slot = vec4<u32>(t, t + 1u, t + 2u, t + 3u);
    // Slots past the end repeat the last key (always in range); their weight is zero.
    let sl = min(slot, vec4<u32>(total - 1u));
    let j = select(vec4<u32>(lo) + sl, vec4<u32>(lo2 - n1) + sl, sl >= vec4<u32>(n1));
    var live = slot < vec4<u32>(total);
    if (!SKIP) {
      live = live & vec4<bool>(visible(i, j.x, h), visible(i, j.y, h), visible(i, j.z, h), visible(i, j.w, h));
    }
    let b = (j * p.KV + kvh) * HD4;
    var s = vec4<f32>(0.0);
    s += vec4<f32>(dot(q0, k[b.x + 0u]), dot(q0, k[b.y + 0u]), dot(q0, k[b.z + 0u]), dot(q0, k[b.w + 0u]));
    if (HD4 > 1u) { s += vec4<f32>(dot(q1, k[b.x + 1u]), dot(q1, k[b.y + 1u]), dot(q1, k[b.z + 1u]), dot(q1, k[b.w + 1u])); }
    if (HD4 > 2u) { s += vec4<f32>(dot(q2, k[b.x + 2u]), dot(q2, k[b.y + 2u]), dot(q2, k[b.z + 2u]), dot(q2, k[b.w + 2u])); }
    if (HD4 > 3u) { s += vec4<f32>(dot(q3, k[b.x + 3u]), dot(q3, k[b.y + 3u]), dot(q3, k[b.z + 3u]), dot(q3, k[b.w + 3u])); }
    if (HD4 > 4u) { s += vec4<f32>(dot(q4, k[b.x + 4u]), dot(q4, k[b.y + 4u]), dot(q4, k[b.z + 4u]), dot(q4, k[b.w + 4u])); }
    if (HD4 > 5u) { s += vec4<f32>(dot(q5, k[b.x + 5u]), dot(q5, k[b.y + 5u]), dot(q5, k[b.z + 5u]), dot(q5, k[b.w + 5u])); }
    if (HD4 > 6u) { s += vec4<f32>(dot(q6, k[b.x + 6u]), dot(q6, k[b.y + 6u]), dot(q6, k[b.z + 6u]), dot(q6, k[b.w + 6u])); }
    if (HD4 > 7u) { s += vec4<f32>(dot(q7, k[b.x + 7u]), dot(q7, k[b.y + 7u]), dot(q7, k[b.z + 7u]), dot(q7, k[b.w + 7u])); }
    if (HD4 > 8u) { s += vec4<f32>(dot(q8, k[b.x + 8u]), dot(q8, k[b.y + 8u]), dot(q8, k[b.z + 8u]), dot(q8, k[b.w + 8u])); }
    if (HD4 > 9u) { s += vec4<f32>(dot(q9, k[b.x + 9u]), dot(q9, k[b.y + 9u]), dot(q9, k[b.z + 9u]), dot(q9, k[b.w + 9u])); }
    if (HD4 > 10u) { s += vec4<f32>(dot(q10, k[b.x + 10u]), dot(q10, k[b.y + 10u]), dot(q10, k[b.z + 10u]), dot(q10, k[b.w + 10u])); }
    if (HD4 > 11u) { s += vec4<f32>(dot(q11, k[b.x + 11u]), dot(q11, k[b.y + 11u]), dot(q11, k[b.z + 11u]), dot(q11, k[b.w + 11u])); }
    if (HD4 > 12u) { s += vec4<f32>(dot(q12, k[b.x + 12u]), dot(q12, k[b.y + 12u]), dot(q12, k[b.z + 12u]), dot(q12, k[b.w + 12u])); }
    if (HD4 > 13u) { s += vec4<f32>(dot(q13, k[b.x + 13u]), dot(q13, k[b.y + 13u]), dot(q13, k[b.z + 13u]), dot(q13, k[b.w + 13u])); }
    if (HD4 > 14u) { s += vec4<f32>(dot(q14, k[b.x + 14u]), dot(q14, k[b.y + 14u]), dot(q14, k[b.z + 14u]), dot(q14, k[b.w + 14u])); }
    if (HD4 > 15u) { s += vec4<f32>(dot(q15, k[b.x + 15u]), dot(q15, k[b.y + 15u]), dot(q15, k[b.z + 15u]), dot(q15, k[b.w + 15u])); }
    s = select(vec4<f32>(NEG), s, live);
    // A step with no live key leaves m, l and a unchanged (alpha = 1, pr = 0).
    let mNew = max(m, max(max(s.x, s.y), max(s.z, s.w)));
    let alpha = exp(m - mNew);
    let pr = select(vec4<f32>(0.0), exp(s - vec4<f32>(mNew)), live);
    l = l * alpha + (pr.x + pr.y + pr.z + pr.w);
    a0 = a0 * alpha + pr.x * v[b.x + 0u] + pr.y * v[b.y + 0u] + pr.z * v[b.z + 0u] + pr.w * v[b.w + 0u];
    if (HD4 > 1u) { a1 = a1 * alpha + pr.x * v[b.x + 1u] + pr.y * v[b.y + 1u] + pr.z * v[b.z + 1u] + pr.w * v[b.w + 1u]; }
    if (HD4 > 2u) { a2 = a2 * alpha + pr.x * v[b.x + 2u] + pr.y * v[b.y + 2u] + pr.z * v[b.z + 2u] + pr.w * v[b.w + 2u]; }
    if (HD4 > 3u) { a3 = a3 * alpha + pr.x * v[b.x + 3u] + pr.y * v[b.y + 3u] + pr.z * v[b.z + 3u] + pr.w * v[b.w + 3u]; }
    if (HD4 > 4u) { a4 = a4 * alpha + pr.x * v[b.x + 4u] + pr.y * v[b.y + 4u] + pr.z * v[b.z + 4u] + pr.w * v[b.w + 4u]; }
    if (HD4 > 5u) { a5 = a5 * alpha + pr.x * v[b.x + 5u] + pr.y * v[b.y + 5u] + pr.z * v[b.z + 5u] + pr.w * v[b.w + 5u]; }
    if (HD4 > 6u) { a6 = a6 * alpha + pr.x * v[b.x + 6u] + pr.y * v[b.y + 6u] + pr.z * v[b.z + 6u] + pr.w * v[b.w + 6u]; }
    if (HD4 > 7u) { a7 = a7 * alpha + pr.x * v[b.x + 7u] + pr.y * v[b.y + 7u] + pr.z * v[b.z + 7u] + pr.w * v[b.w + 7u]; }
    if (HD4 > 8u) { a8 = a8 * alpha + pr.x * v[b.x + 8u] + pr.y * v[b.y + 8u] + pr.z * v[b.z + 8u] + pr.w * v[b.w + 8u]; }
    if (HD4 > 9u) { a9 = a9 * alpha + pr.x * v[b.x + 9u] + pr.y * v[b.y + 9u] + pr.z * v[b.z + 9u] + pr.w * v[b.w + 9u]; }
    if (HD4 > 10u) { a10 = a10 * alpha + pr.x * v[b.x + 10u] + pr.y * v[b.y + 10u] + pr.z * v[b.z + 10u] + pr.w * v[b.w + 10u]; }
    if (HD4 > 11u) { a11 = a11 * alpha + pr.x * v[b.x + 11u] + pr.y * v[b.y + 11u] + pr.z * v[b.z + 11u] + pr.w * v[b.w + 11u]; }
    if (HD4 > 12u) { a12 = a12 * alpha + pr.x * v[b.x + 12u] + pr.y * v[b.y + 12u] + pr.z * v[b.z + 12u] + pr.w * v[b.w + 12u]; }
    if (HD4 > 13u) { a13 = a13 * alpha + pr.x * v[b.x + 13u] + pr.y * v[b.y + 13u] + pr.z * v[b.z + 13u] + pr.w * v[b.w + 13u]; }
    if (HD4 > 14u) { a14 = a14 * alpha + pr.x * v[b.x + 14u] + pr.y * v[b.y + 14u] + pr.z * v[b.z + 14u] + pr.w * v[b.w + 14u]; }
    if (HD4 > 15u) { a15 = a15 * alpha + pr.x * v[b.x + 15u] + pr.y * v[b.y + 15u] + pr.z * v[b.z + 15u] + pr.w * v[b.w + 15u]; }
    m = mNew;
  }
  // A row that sees no key of this dispatch's block (key blocks) gets o = 0 and lse = NEG.
  let il = select(0.0, 1.0 / l, l > 0.0);
  o[row + 0u] = a0 * il;
  if (HD4 > 1u) { o[row + 1u] = a1 * il; }
  if (HD4 > 2u) { o[row + 2u] = a2 * il; }
  if (HD4 > 3u) { o[row + 3u] = a3 * il; }
  if (HD4 > 4u) { o[row + 4u] = a4 * il; }
  if (HD4 > 5u) { o[row + 5u] = a5 * il; }
  if (HD4 > 6u) { o[row + 6u] = a6 * il; }
  if (HD4 > 7u) { o[row + 7u] = a7 * il; }
  if (HD4 > 8u) { o[row + 8u] = a8 * il; }
  if (HD4 > 9u) { o[row + 9u] = a9 * il; }
  if (HD4 > 10u) { o[row + 10u] = a10 * il; }
  if (HD4 > 11u) { o[row + 11u] = a11 * il; }
  if (HD4 > 12u) { o[row + 12u] = a12 * il; }
  if (HD4 > 13u) { o[row + 13u] = a13 * il; }
  if (HD4 > 14u) { o[row + 14u] = a14 * il; }
  if (HD4 > 15u) { o[row + 15u] = a15 * il; }
  lse[rowStat(h, i)] = select(NEG, m + log(l), l > 0.0);
}
