// Embedding lookup in a Q4_0 table, dequantized to io/quant.ts's values bit for bit: the kernel
// (and its semantics for ids outside the block) is embedding_quant.wgsl, the decoder quant_q4_0.wgsl.

// #include quant_q4_0
// #include embedding_quant
