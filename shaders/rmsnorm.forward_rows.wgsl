// RMSNorm forward, one thread per row (CPU adapters): y = x · rstd · w, rstd[t] = 1 / sqrt(mean(x[t]²) + eps) saved for
// the backward pass. x, y: [T, D] f32 row-major; w: [D]; rstd: [T]. The body: rmsnorm_forward_rows.

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

// #include rmsnorm_forward_rows
