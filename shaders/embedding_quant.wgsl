// The body of the embedding lookup over one row block of a quantized table, included by
// embedding.forward_<type>.wgsl after the type's decoder (quant_<type>.wgsl):
//   out[t, d] = W[ids[t] − row0, d] dequantized, for t < T, d < D and ids[t] in [row0, row0 + rows);
// positions whose id lies in another block are left untouched, and the last block (p.last = 1)
// writes a zero row for ids ≥ row0 + rows (ids ≥ V) — embedding.forward.wgsl's semantics. Each
// value is scale·q − min of its sub-block, rounded once per operation: io/quant.ts's values.
// W, the block: [rows, D] in the GPU layout of quant-layout.ts (D % QB == 0).
// out: [T, D] f32, overwritten where written.
// One lane per 8 consecutive outputs (an oct of quants); 256 lanes per workgroup on a 2D grid.

// #params Params

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> outp: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quant_blocks

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  let d8 = p.D / 8u;
  if (i >= p.T * d8) {
    return;
  }
  let t = i / d8;
  let d = (i - t * d8) * 8u;
  let id = ids[t];
  if (id >= p.row0 && id - p.row0 < p.rows) {
    let o = ((id - p.row0) * (p.D / QB) + d / QB) * QW;
    let v = d % QB;
    let s = qScale(o, v / QSUB);
    let q = qOct(o, v / 8u); // exact integers (not the products' q/255)
    outp[2u * i] = q.lo * s.x - vec4<f32>(s.y);
    outp[2u * i + 1u] = q.hi * s.x - vec4<f32>(s.y);
  } else if (p.last == 1u && id >= p.row0 + p.rows) {
    outp[2u * i] = vec4<f32>(0.0);
    outp[2u * i + 1u] = vec4<f32>(0.0);
  }
}
