// The attention forward's bindings (q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]), for
// attention.forward_fa2 and attention.forward_fa2_sg. Params comes from the includer's
// attention.pattern. Not a kernel of its own.

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
