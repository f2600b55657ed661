// Linear layer forward (y = x·Wᵀ) with a Q4_0 weight, dequantized inside the product; a 4×4
// block of outputs per lane. The kernel: matmul_quant_forward.wgsl; the decoder: quant_q4_0.wgsl.

const ROWS8 = false;

// #include quant_q4_0
// #include matmul_quant_forward
