// Linear layer forward (y = x·Wᵀ) with a Q5_1 weight, dequantized inside the product; a 4×4
// block of outputs per lane. The kernel: matmul_quant_forward.wgsl; the decoder: quant_q5_1.wgsl.

const ROWS8 = false;

// #include quant_q5_1
// #include matmul_quant_forward
