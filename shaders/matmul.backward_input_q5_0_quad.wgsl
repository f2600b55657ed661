// Linear layer input gradient (dx = dy·W) with a Q5_0 weight, dequantized inside the product; 8 rows per
// lane with each quad of lanes sharing its loads (adapters with subgroups).
// The kernel: matmul_quant_backward_input_quad.wgsl; the decoder: quant_q5_0.wgsl.

enable subgroups;

// #include quant_q5_0
// #include matmul_quant_backward_input_quad
