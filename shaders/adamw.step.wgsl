// One AdamW step (PyTorch semantics, decoupled weight decay) over n f32 elements, in place:
//   g = grad · gradScale;  param ← param · (1 − lr·wd)
//   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//   param ← param − stepSize · m / (sqrt(v) · invSqrtBc2 + eps)
// with stepSize = lr / (1 − β1^step) and invSqrtBc2 = 1 / sqrt(1 − β2^step) computed on the CPU.
// param, m and v are updated in place; grad is only read. One lane per element, 256 lanes per
// workgroup on a 2D grid (x fastest).

// #params Params

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.n) {
    return;
  }
  let g = grad[i] * p.gradScale;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) * p.invSqrtBc2 + p.eps;
  param[i] = param[i] * p.decay - p.stepSize * mi / denom;
}
