// attention.forward_sgmatrix: the attention forward with S = Q·Kᵀ and O += P·V on subgroup matrices
// (Dawn/Chrome's experimental `chromium-experimental-subgroup-matrix`: Metal simdgroup matrices on
// Apple7+ GPUs, Vulkan cooperative matrices), in the f32 configuration the launcher chose from the
// adapter's subgroupMatrixConfigs (attention_sgmatrix_config, written by attention.ts; the kernel
// and its thread mapping: attention_sgmatrix.wgsl). NEVER COMPILED where it was written: no adapter
// there offered the feature (SwiftShader does not), so its syntax follows matmul.sgmatrix.wgsl's
// reading of Dawn's documentation; tuning compiles it first and leaves it out, with the compiler's
// reason, where it does not compile. attention.forward_sgmatrix_emu.wgsl runs the same body
// without the feature.

enable subgroups;
enable chromium_experimental_subgroup_matrix;
// The matrix calls sit in a branch taken by whole subgroups, which WGSL's workgroup-level
// uniformity analysis cannot see.
diagnostic(off, chromium.subgroup_matrix_uniformity);
// #include attention_sgmatrix_config

alias SmLeft = subgroup_matrix_left<SmT, SM_K, SM_M>;
alias SmRight = subgroup_matrix_right<SmT, SM_N, SM_K>;
alias SmAcc = subgroup_matrix_result<f32, SM_N, SM_M>;

fn smZero() -> SmAcc {
  return SmAcc();
}

fn smLoadQ(off: u32, stride: u32) -> SmLeft {
  return subgroupMatrixLoad<SmLeft, row_major>(&Qs, off, stride);
}

fn smLoadP(off: u32, stride: u32) -> SmLeft {
  return subgroupMatrixLoad<SmLeft, row_major>(&Ps, off, stride);
}

fn smLoadKV(off: u32, stride: u32) -> SmRight {
  return subgroupMatrixLoad<SmRight, row_major>(&KVs, off, stride);
}

fn smLoadO(off: u32, stride: u32) -> SmAcc {
  return subgroupMatrixLoad<SmAcc, row_major>(&Os, off, stride);
}

fn smMma(l: SmLeft, r: SmRight, acc: SmAcc) -> SmAcc {
  return subgroupMatrixMultiplyAccumulate(l, r, acc);
}

fn smStoreS(off: u32, stride: u32, acc: SmAcc) {
  subgroupMatrixStore<row_major>(&Ss, off, acc, stride);
}

fn smStoreO(off: u32, stride: u32, acc: SmAcc) {
  subgroupMatrixStore<row_major>(&Os, off, acc, stride);
}

// The subgroup holding local invocation 0: the same answer in all its lanes.
fn leads(lid: u32) -> bool {
  return subgroupMin(lid) == 0u;
}

// #include attention_sgmatrix
