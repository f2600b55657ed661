// The subgroup-matrix configuration attention.forward_sgmatrix.wgsl is built with. The launcher
// (attention.ts) replaces this file's text by the configuration it chose from the adapter's
// subgroupMatrixConfigs (attention-sgmatrix.ts: f32 operands and results, M, N, K dividing 16);
// this default is the f32 8×8×8 configuration Metal offers on Apple7+ GPUs, so the file expands on
// its own (tests of the shader files).
const SM_M: u32 = 8u;
const SM_N: u32 = 8u;
const SM_K: u32 = 8u;
alias SmT = f32;
