// The residual add fused with the RMSNorm after it, one workgroup per row:
// h += res, then y = h · rstd · w with rstd[t] = 1 / sqrt(mean(h[t]²) + eps) — one launch where
// addInto and rmsnormForward took two. h (updated in place), res, y: [T, D] f32 row-major; w: [D];
// rstd: [T]. Bindings: rmsnorm_add_forward_io; the body: rmsnorm_forward_workgroup.

// #include rmsnorm_add_forward_io
// #include rmsnorm_forward_workgroup
