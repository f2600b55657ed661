"""Independent NumPy float64 forward of stories260K (HF LlamaForCausalLM semantics) with LongLoRA's
attention patterns implemented by moving data (the paper's roll / the official segment split), to
cross-check src/reference/llama.ts (its test pins the losses printed here). Run from the repo root:
`python3 scripts/ref-llama-golden.py`. Needs only NumPy."""
import json, struct, sys
import numpy as np

A = sys.argv[1] if len(sys.argv) > 1 else 'public/demo'  # run from the repo root
def load():
    f = open(f'{A}/model.safetensors', 'rb'); n = struct.unpack('<Q', f.read(8))[0]
    h = json.loads(f.read(n)); data = f.read()
    W = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        a, b = v['data_offsets']; W[k] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v['shape']).astype(np.float64)
    return W

def rms(x, w, eps=1e-5): return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

def rope(x, factor, theta=10000.0):  # x [N, h, d]
    N, _, d = x.shape
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    ang = np.outer(np.arange(N) / factor, inv); emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    rot = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * cos + rot * sin

def causal_attn(q, k, v):  # [n, d] each
    s = q @ k.T / np.sqrt(q.shape[-1]); n = s.shape[0]
    s[np.triu(np.ones((n, n), bool), 1)] = -np.inf
    p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
    return p @ v

def attn(q, k, v, pattern, G):  # q [N,H,d], k,v [N,H,d] (already repeated for GQA)
    N, H, d = q.shape; out = np.zeros_like(q)
    for h in range(H):
        if pattern == 'full':
            out[:, h] = causal_attn(q[:, h], k[:, h], v[:, h]); continue
        if h < H // 2:
            segs = [(s, s + G) for s in range(0, N, G)]
            for a, b in segs: out[a:b, h] = causal_attn(q[a:b, h], k[a:b, h], v[a:b, h])
        elif pattern == 's2':
            cuts = [0] + list(range(G // 2, N, G)) + [N]
            for a, b in zip(cuts[:-1], cuts[1:]): out[a:b, h] = causal_attn(q[a:b, h], k[a:b, h], v[a:b, h])
        else:  # paper Algorithm 1: roll by -G/2, group, causal, roll back
            qr, kr, vr = (np.roll(t[:, h], -G // 2, 0) for t in (q, k, v)); o = np.zeros_like(qr)
            for a in range(0, N, G): o[a:a + G] = causal_attn(qr[a:a + G], kr[a:a + G], vr[a:a + G])
            out[:, h] = np.roll(o, G // 2, 0)
    return out

def loss(W, toks, factor=1, pattern='full', G=16, H=8, KV=4):
    x = W['model.embed_tokens.weight'][toks]; N = len(toks)
    for i in range(5):
        p = f'model.layers.{i}.'
        n = rms(x, W[p + 'input_layernorm.weight'])
        q = (n @ W[p + 'self_attn.q_proj.weight'].T).reshape(N, H, -1)
        k = (n @ W[p + 'self_attn.k_proj.weight'].T).reshape(N, KV, -1)
        v = (n @ W[p + 'self_attn.v_proj.weight'].T).reshape(N, KV, -1)
        q, k = rope(q, factor), rope(k, factor)
        k, v = np.repeat(k, H // KV, 1), np.repeat(v, H // KV, 1)
        x = x + attn(q, k, v, pattern, G).reshape(N, -1) @ W[p + 'self_attn.o_proj.weight'].T
        n = rms(x, W[p + 'post_attention_layernorm.weight'])
        g = n @ W[p + 'mlp.gate_proj.weight'].T; u = n @ W[p + 'mlp.up_proj.weight'].T
        x = x + (g / (1 + np.exp(-g)) * u) @ W[p + 'mlp.down_proj.weight'].T
    logits = rms(x, W['model.norm.weight']) @ W['model.embed_tokens.weight'].T
    lg = logits[:-1]; m = lg.max(-1, keepdims=True); lse = (m + np.log(np.exp(lg - m).sum(-1, keepdims=True)))[:, 0]
    return float((lse - lg[np.arange(N - 1), toks[1:]]).mean())

def fd(W, name, idx, toks, **kw):
    t = W[name]; keep = t.flat[idx]; h = 1e-5
    t.flat[idx] = keep + h; a = loss(W, toks, **kw); t.flat[idx] = keep - h; b = loss(W, toks, **kw); t.flat[idx] = keep
    return (a - b) / (2 * h)

if __name__ == '__main__':
    W = load()
    toks = np.array([(31 * i * i + 17 * i + 3) % 512 for i in range(64)])
    for f, pat in [(1, 'full'), (2, 's2'), (2, 's2roll'), (4, 'full')]:
        L = loss(W, toks, factor=f, pattern=pat)
        g = [fd(W, 'model.norm.weight', j, toks, factor=f, pattern=pat) for j in range(2)]
        print(f'{pat} x{f} G=16: loss {L!r}; d/d norm[0:2] by finite differences {g}')
