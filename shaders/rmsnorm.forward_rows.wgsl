// RMSNorm forward, one thread per row (CPU adapters): y = x · rstd · w with
// rstd[t] = 1 / sqrt(mean(x[t]²) + eps), saved for the backward pass. x, y: [T, D] f32 row-major;
// w: [D]; rstd: [T]. Bindings: rmsnorm_forward_io; the body: rmsnorm_forward_rows.

// #include rmsnorm_forward_io
// #include rmsnorm_forward_rows
