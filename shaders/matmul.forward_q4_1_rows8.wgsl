// Linear layer forward (y = x·Wᵀ) with a Q4_1 weight, dequantized inside the product; an 8×4
// block of outputs per lane, so each decoded quad of quants feeds twice the multiply-adds.
// The kernel: matmul_quant_forward.wgsl; the decoder: quant_q4_1.wgsl.

const ROWS8 = true;

// #include quant_q4_1
// #include matmul_quant_forward
