// Rotary position embedding of q[T, nq, hd] and k[T, nk, hd] in one launch (the decoder layer's
// two rotations, forward with sign = +1 or backward on their gradients with sign = −1): the same
// rotation as rope.rotate, each (t, head, i) pair of q and of k one lane; lanes of token t run q's
// heads, then k's. In place on both.

// #params Params

@group(0) @binding(0) var<storage, read> invFreq: array<f32>;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include rope_sincos

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.hd / 2u;
  let heads = p.nq + p.nk;
  let idx = gid.y * nwg.x * 256u + gid.x;
  if (idx >= p.T * heads * half) {
    return;
  }
  let i = idx % half;
  let row = idx / half; // t · (nq + nk) + head
  let t = row / heads;
  let head = row % heads;
  let a = f32(p.posOffset + t) * invFreq[i];
  let sc = sinCos(a);
  let c = sc.y;
  let s = p.sign * sc.x;
  if (head < p.nq) {
    let j0 = (t * p.nq + head) * p.hd + i;
    let j1 = j0 + half;
    let x0 = q[j0];
    let x1 = q[j1];
    q[j0] = x0 * c - x1 * s;
    q[j1] = x1 * c + x0 * s;
  } else {
    let j0 = (t * p.nk + head - p.nq) * p.hd + i;
    let j1 = j0 + half;
    let x0 = k[j0];
    let x1 = k[j1];
    k[j0] = x0 * c - x1 * s;
    k[j1] = x1 * c + x0 * s;
  }
}
