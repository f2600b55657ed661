// Attention forward over key blocks, merge step (the flash-decoding / split-KV merge): folds one key
// block's partial output oP and log-sum-exp lseP into the running o and lse of query rows
// q0 … q0 + Tq − 1 (of the NQ in lse):
//   lse' = log(exp(lse) + exp(lseP)),   o' = exp(lse − lse') · o + exp(lseP − lse') · oP.
// o, oP [Tq, H, HD] (views of those rows); lse, lseP [H, NQ] (whole). A partial with lseP = NEG (its
// block held no key the row sees) leaves the row unchanged; a running lse of NEG takes the partial.
// Threads: one lane per (query row, head), 64 lanes per workgroup; each lane walks its row's HD
// elements. o and lse are UPDATED in place.

// #params Params

const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> oP: array<f32>;
@group(0) @binding(3) var<storage, read> lseP: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;  // r = h * Tq + i
  if (r >= p.Tq * p.H) { return; }
  let h = r / p.Tq;
  let i = r % p.Tq;
  let at = h * p.NQ + p.q0 + i;
  let b = lseP[at];
  if (b <= NEG) { return; }
  let a = lse[at];
  let mx = max(a, b);
  let wa = exp(a - mx);
  let wb = exp(b - mx);
  let s = wa + wb;
  let base = (i * p.H + h) * p.HD;
  for (var d = 0u; d < p.HD; d++) { o[base + d] = (wa * o[base + d] + wb * oP[base + d]) / s; }
  lse[at] = mx + log(s);
}
