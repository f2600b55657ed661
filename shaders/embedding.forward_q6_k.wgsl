// Embedding lookup in a Q6_K table, dequantized to io/quant.ts's values bit for bit: the kernel
// (and its semantics for ids outside the block) is embedding_quant.wgsl, the decoder quant_q6_k.wgsl.

// #include quant_q6_k
// #include embedding_quant
