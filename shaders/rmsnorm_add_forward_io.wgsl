// The fused residual add's bindings and row input, for rmsnorm_forward_{rows,workgroup}: the first
// read adds res into h (in place), the second reads the sum back.

// #params Params

@group(0) @binding(0) var<storage, read_write> h: array<f32>;
@group(0) @binding(1) var<storage, read> res: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn xFirst(i: u32) -> f32 {
  let v = h[i] + res[i];
  h[i] = v;
  return v;
}

fn xAgain(i: u32) -> f32 {
  return h[i];
}
