// matmul.sgmatrix: the linear layer on subgroup matrices (Dawn/Chrome's experimental
// `chromium-experimental-subgroup-matrix`: Metal simdgroup matrices on Apple7+ GPUs, Vulkan
// cooperative matrices), in the configuration the launcher chose from the adapter's
// subgroupMatrixConfigs (sgmatrix_config, written by matmul.ts; the kernel and its thread mapping:
// matmul_sgmatrix.wgsl). Not compiled where it was written: no adapter there offered the feature
// (SwiftShader does not), so this file's syntax follows Dawn's documentation and tests (the
// memory layout a template argument of subgroupMatrixLoad/Store, as in Dawn since 2025); tuning
// compiles it first and leaves it out, with the compiler's reason, where it does not compile.
// matmul.sgmatrix_emu.wgsl runs the same body without the feature.

enable subgroups;
enable chromium_experimental_subgroup_matrix;
// The matrix calls sit in a branch taken by whole subgroups, which WGSL's workgroup-level
// uniformity analysis cannot see.
diagnostic(off, chromium.subgroup_matrix_uniformity);
// #include sgmatrix_config

alias SmLeft = subgroup_matrix_left<SmT, SM_K, SM_M>;
alias SmRight = subgroup_matrix_right<SmT, SM_N, SM_K>;
alias SmAcc = subgroup_matrix_result<f32, SM_N, SM_M>;

fn smZero() -> SmAcc {
  return SmAcc();
}

fn smLoadLeft(off: u32, stride: u32) -> SmLeft {
  return subgroupMatrixLoad<SmLeft, row_major>(&As, off, stride);
}

fn smLoadRight(off: u32, stride: u32) -> SmRight {
  return subgroupMatrixLoad<SmRight, row_major>(&Bs, off, stride);
}

fn smMma(l: SmLeft, r: SmRight, acc: SmAcc) -> SmAcc {
  return subgroupMatrixMultiplyAccumulate(l, r, acc);
}

fn smStore(off: u32, stride: u32, acc: SmAcc) {
  subgroupMatrixStore<row_major>(&Cs, off, acc, stride);
}

fn toSm(x: f32) -> SmT {
  return SmT(x);
}

// The subgroup holding local invocation 0: the same answer in all its lanes.
fn leads(lid: u32) -> bool {
  return subgroupMin(lid) == 0u;
}

// #include matmul_sgmatrix
