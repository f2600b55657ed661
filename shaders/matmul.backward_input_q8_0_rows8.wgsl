// Linear layer input gradient (dx = dy·W) with a Q8_0 weight, dequantized inside the product; an 8×4
// block of outputs per lane, so each decoded quad of quants feeds twice the multiply-adds.
// The kernel: matmul_quant_backward_input.wgsl; the decoder: quant_q8_0.wgsl.

const ROWS8 = true;

// #include quant_q8_0
// #include matmul_quant_backward_input
