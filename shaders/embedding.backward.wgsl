// Embedding backward over one row block of the table: dTable[id − row0, d] += Σ_{t : ids[t] = id}
// dOut[t, d], deterministic. The CPU groups token positions by id: `order` lists positions sorted by
// (id, t) and `segs` holds one (id, start, end) triple per distinct id, so segment s sums dOut rows
// order[start … end) in that fixed order. This dispatch handles segments s0 … s0 + S − 1, whose ids
// all lie in [row0, row0 + rows) of this block (the launcher picks them; a whole table is one block
// with row0 0). dTable (the block, [rows, D] f32) ACCUMULATES (+=) (parameter gradient). One
// workgroup per segment (2D grid, x fastest); 64 lanes stride over D. Each dTable row is written by
// exactly one workgroup.

// #params Params

@group(0) @binding(0) var<storage, read> order: array<u32>;
@group(0) @binding(1) var<storage, read> segs: array<u32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> dTable: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let local = wg.y * nwg.x + wg.x;
  if (local >= p.S) {
    return;
  }
  let s = p.s0 + local;
  let row = segs[3u * s] - p.row0;
  let start = segs[3u * s + 1u];
  let end = segs[3u * s + 2u];
  for (var d = lid; d < p.D; d += 64u) {
    var acc = 0.0;
    for (var k = start; k < end; k++) {
      acc += dOut[order[k] * p.D + d];
    }
    dTable[row * p.D + d] = dTable[row * p.D + d] + acc;
  }
}
