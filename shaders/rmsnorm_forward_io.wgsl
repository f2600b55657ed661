// The plain RMSNorm forward's bindings and row input (x read twice), for
// rmsnorm_forward_{rows,workgroup}.

// #params Params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn xFirst(i: u32) -> f32 {
  return x[i];
}

fn xAgain(i: u32) -> f32 {
  return x[i];
}
