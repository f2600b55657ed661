// Embedding lookup: out[t, d] = W[ids[t], d] for t < T, d < D; ids ≥ V give a zero row.
// W, the table: [V, D] as raw u32 words: f32 (DTYPE 0), or bf16 (1) / f16 (2) packed two per u32
// (element e in word e >> 1, low half when e is even), unpacked by packed16's loadW.
// out: [T, D] f32, overwritten.
// One lane per output element (t · D + d); 256 lanes per workgroup on a 2D grid (x fastest).

override DTYPE: u32 = 0u;

// #params Params

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include packed16

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
    v = loadW(id * p.D + d);
  }
  outp[i] = v;
}
