// matmul.direct8: matmul.direct with an 8×4 block of C per lane: each W load feeds twice the
// multiply-adds, which SwiftShader rewards (the kernel and its thread mapping: matmul_direct.wgsl).

const ROWS8 = true;

// #include matmul_direct
