// The attention backward's input bindings 0-5 (q, dO [Tq, H, hd]; k, v [Tk, KV, hd]; the forward's
// lse and D = dO·o [H, Tq]), for attention.backward_{dq,dkdv}_fa2 and their _fa2_sg forms; each
// includer binds its outputs and Params from 6 on. Not a kernel of its own.

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
