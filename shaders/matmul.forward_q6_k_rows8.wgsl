// Linear layer forward (y = x·Wᵀ) with a Q6_K weight, dequantized inside the product; an 8×4
// block of outputs per lane, so each decoded quad of quants feeds twice the multiply-adds.
// The kernel: matmul_quant_forward.wgsl; the decoder: quant_q6_k.wgsl.

const ROWS8 = true;

// #include quant_q6_k
// #include matmul_quant_forward
