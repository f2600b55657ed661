// Linear layer forward (y = x·Wᵀ) with a Q6_K weight, dequantized inside the product; a 4×4
// block of outputs per lane. The kernel: matmul_quant_forward.wgsl; the decoder: quant_q6_k.wgsl.

const ROWS8 = false;

// #include quant_q6_k
// #include matmul_quant_forward
