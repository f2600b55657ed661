// Quad sharing for the quad kernels (included after `enable subgroups;`): laneT(x) is quad lane T's
// x, for T = 0…3 (vec4; laneTs for f32): quadBroadcast(x, T), or subgroupBroadcast(x, T) where the
// launcher knows the subgroup is exactly one quad (SG4: SwiftShader), which Subzero compiles to
// fewer instructions (~15 % faster in dhidden_quad). Both take a constant lane, as WGSL requires.

override SG4: bool = false;

fn lane0(x: vec4<f32>) -> vec4<f32> {
  if (SG4) {
    return subgroupBroadcast(x, 0u);
  }
  return quadBroadcast(x, 0u);
}

fn lane0s(x: f32) -> f32 {
  if (SG4) {
    return subgroupBroadcast(x, 0u);
  }
  return quadBroadcast(x, 0u);
}

fn lane1(x: vec4<f32>) -> vec4<f32> {
  if (SG4) {
    return subgroupBroadcast(x, 1u);
  }
  return quadBroadcast(x, 1u);
}

fn lane1s(x: f32) -> f32 {
  if (SG4) {
    return subgroupBroadcast(x, 1u);
  }
  return quadBroadcast(x, 1u);
}

fn lane2(x: vec4<f32>) -> vec4<f32> {
  if (SG4) {
    return subgroupBroadcast(x, 2u);
  }
  return quadBroadcast(x, 2u);
}

fn lane2s(x: f32) -> f32 {
  if (SG4) {
    return subgroupBroadcast(x, 2u);
  }
  return quadBroadcast(x, 2u);
}

fn lane3(x: vec4<f32>) -> vec4<f32> {
  if (SG4) {
    return subgroupBroadcast(x, 3u);
  }
  return quadBroadcast(x, 3u);
}

fn lane3s(x: f32) -> f32 {
  if (SG4) {
    return subgroupBroadcast(x, 3u);
  }
  return quadBroadcast(x, 3u);
}
