// RMSNorm backward, weight gradient, stage 1 of 2 (deterministic, no float atomics):
//   partial[c, d] = Σ_{t in rows [c·R, min((c+1)·R, T))} dy[t, d] · x[t, d] · rstd[t]
// partial: [ceil(T / R), D] workspace, OVERWRITTEN. Stage 2 (rmsnorm.backward_dw_reduce) adds the
// chunks in order into dw. Workgroup (64 lanes) covers 64 columns d; grid y is the chunk c; each lane
// walks its chunk's rows in increasing t.

// #params Params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rstd: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let c = gid.y;
  if (d >= p.D) {
    return;
  }
  let t0 = c * p.R;
  let t1 = min(t0 + p.R, p.T);
  var s = 0.0;
  for (var t = t0; t < t1; t++) {
    let i = t * p.D + d;
    s += dy[i] * x[i] * rstd[t];
  }
  partial[c * p.D + d] = s;
}
