// The residual add fused with the RMSNorm after it, one thread per row (CPU adapters): h += res, then y = h · rstd · w
// with rstd[t] = 1 / sqrt(mean(h[t]²) + eps) — one launch where addInto and rmsnormForward took two.
// h (updated in place), res, y: [T, D] f32 row-major; w: [D]; rstd: [T]. The body:
// rmsnorm_forward_rows.

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

// #include rmsnorm_forward_rows
