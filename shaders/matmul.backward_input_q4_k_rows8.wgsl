// Linear layer input gradient (dx = dy·W) with a Q4_K weight, dequantized inside the product; an 8×4
// block of outputs per lane, so each decoded quad of quants feeds twice the multiply-adds.
// The kernel: matmul_quant_backward_input.wgsl; the decoder: quant_q4_k.wgsl.

const ROWS8 = true;

// #include quant_q4_k
// #include matmul_quant_backward_input
