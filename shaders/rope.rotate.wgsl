// Rotary position embedding (rotate-half, Hugging Face Llama convention), in place on x[T, nh, hd]:
// for pair (i, i + hd/2), i < hd/2, angle a = f32(posOffset + t) · invFreq[i] (product rounded to f32,
// as HF computes it), and with s = p.sign · sin(a), c = cos(a):
//   x[i] ← x[i]·c − x[i + hd/2]·s,   x[i + hd/2] ← x[i + hd/2]·c + x[i]·s
// Forward uses sign = +1; the backward pass is the transposed rotation, sign = −1, applied in place
// to the gradient (overwrites it). One lane per (t, head, i) pair; 256 lanes per workgroup on a 2D
// grid. sinCos: rope_sincos.

// #params Params

@group(0) @binding(0) var<storage, read> invFreq: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// #include rope_sincos

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.hd / 2u;
  let idx = gid.y * nwg.x * 256u + gid.x;
  if (idx >= p.T * p.nh * half) {
    return;
  }
  let i = idx % half;
  let row = idx / half; // t · nh + head
  let t = row / p.nh;
  let a = f32(p.posOffset + t) * invFreq[i];
  let sc = sinCos(a);
  let c = sc.y;
  let s = p.sign * sc.x;
  let j0 = row * p.hd + i;
  let j1 = j0 + half;
  let x0 = x[j0];
  let x1 = x[j1];
  x[j0] = x0 * c - x1 * s;
  x[j1] = x1 * c + x0 * s;
}
