// Embedding lookup: out[t, d] = table[ids[t], d] for t < T, d < D; ids ≥ V give a zero row.
// table: [V, D] as raw u32 words: f32 (DTYPE 0), or bf16 (1) / f16 (2) packed two per u32 (element
// e in word e >> 1, low half when e is even), unpacked here. out: [T, D] f32, overwritten.
// One lane per output element (t · D + d); 256 lanes per workgroup on a 2D grid (x fastest).

override DTYPE: u32 = 0u;

struct Params {
  T: u32,
  D: u32,
  V: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn loadTable(e: u32) -> f32 {
  if (DTYPE == 0u) {
    return bitcast<f32>(table[e]);
  }
  let word = table[e >> 1u];
  let h = select(word & 0xffffu, word >> 16u, (e & 1u) == 1u);
  if (DTYPE == 1u) {
    return bitcast<f32>(h << 16u);
  }
  return unpack2x16float(h).x;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.T * p.D) {
    return;
  }
  let t = i / p.D;
  let d = i - t * p.D;
  let id = ids[t];
  var v = 0.0;
  if (id < p.V) {
    v = loadTable(id * p.D + d);
  }
  outp[i] = v;
}
