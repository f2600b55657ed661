// Embedding lookup over one row block of the table: out[t, d] = W[ids[t] − row0, d] for t < T, d < D
// and ids[t] in [row0, row0 + rows); positions whose id lies in another block are left untouched, and
// the last block (p.last = 1) writes a zero row for ids ≥ row0 + rows (ids ≥ V). A whole table is one
// block (row0 0, rows V, last 1), so one dispatch writes every position.
// W, the block: [rows, D] as raw u32 words: f32 (DTYPE 0), or bf16 (1) / f16 (2) packed two per u32
// (element e in word e >> 1, low half when e is even; blocks hold an even element count), unpacked by
// packed16's loadW.
// out: [T, D] f32, overwritten where written.
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
  if (id >= p.row0 && id - p.row0 < p.rows) {
    outp[i] = loadW((id - p.row0) * p.D + d);
  } else if (p.last == 1u && id >= p.row0 + p.rows) {
    outp[i] = 0.0;
  }
}
