// Quad roles and reductions for the fa2_sg attention kernels (included after `enable subgroups;`
// and quad_lanes). Not a kernel of its own.
// Each quad of the 64-lane workgroup takes a slot 0…15 from a workgroup counter (its first lane
// counts, the others get the slot by broadcast). A lane's role, its quad's slot and its place in
// the quad (subgroup_invocation_id % 4), then rests only on how quads are defined, whatever the
// subgroup size and however the adapter maps local invocations to subgroups. Which quad gets which
// slot may differ from run to run; what a slot computes does not.

var<workgroup> quadCount: atomic<u32>;

fn quadSlot(sgLane: u32) -> u32 {
  var s = 0u;
  if (sgLane % 4u == 0u) { s = atomicAdd(&quadCount, 1u); }
  if (SG4) { return subgroupBroadcast(s, 0u); }
  return quadBroadcast(s, 0u);
}

// The quad's maximum and sum, the same bits in all four lanes (each step pairs the same two values
// in both lanes of a pair, and a sum of two is commutative).
fn quadMax(x: f32) -> f32 {
  let y = max(x, quadSwapX(x));
  return max(y, quadSwapY(y));
}

fn quadSum(x: f32) -> f32 {
  let y = x + quadSwapX(x);
  return y + quadSwapY(y);
}

// Every lane's x in the quad, element s from quad lane s (quad_lanes' broadcasts take constant
// lanes; indexing the result takes a loop's).
fn quadAll(x: vec4<f32>) -> array<vec4<f32>, 4> {
  return array<vec4<f32>, 4>(lane0(x), lane1(x), lane2(x), lane3(x));
}

fn quadAlls(x: f32) -> array<f32, 4> {
  return array<f32, 4>(lane0s(x), lane1s(x), lane2s(x), lane3s(x));
}
