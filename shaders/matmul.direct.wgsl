// matmul.direct: register-blocked linear layer, a 4×4 block of C per lane, 16-byte loads, no
// workgroup memory (the kernel and its thread mapping: matmul_direct.wgsl).

const ROWS8 = false;

// #include matmul_direct
