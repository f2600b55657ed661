// Embedding lookup in a Q8_0 table, dequantized to io/quant.ts's values bit for bit: the kernel
// (and its semantics for ids outside the block) is embedding_quant.wgsl, the decoder quant_q8_0.wgsl.

// #include quant_q8_0
// #include embedding_quant
