#!/usr/bin/env python3
"""Check the exporter without a GPU: write a random-initialised tiny Qwen2
with train.py's export() (byte tokens only, no merges), run qinfer on it, and
compare its logits with an independent numpy float64 forward pass of the
dequantized weights. Needs numpy.

  python3 tools/train_tiny/selftest.py QINFER_BINARY WORKDIR

Prints one "ok"/"FAIL" line per check and "# N passed, M failed"."""
import os
import subprocess
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf_out as G  # noqa: E402
import train  # noqa: E402


def byte_vocab():
    """GPT-2's byte-to-unicode table: the 256 byte tokens, then the specials."""
    tokens = G.byte_tokens() + train.SPECIALS
    return tokens, [1] * 256 + [3] * len(train.SPECIALS), []


def rms(x, w, eps=1e-6):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, pos, theta=1e6):
    hd = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = pos[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def forward(W, a, ids):
    """float64 Qwen2 forward over the whole sequence -> [n, vocab] logits"""
    W = {k: v.astype(np.float64) for k, v in W.items()}
    n = len(ids)
    hd = a.hidden // a.heads
    x = W["token_embd.weight"][ids]
    pos = np.arange(n, dtype=np.float64)
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for i in range(a.layers):
        p = f"blk.{i}."
        h = rms(x, W[p + "attn_norm.weight"])
        q = h @ W[p + "attn_q.weight"].T + W[p + "attn_q.bias"]
        k = h @ W[p + "attn_k.weight"].T + W[p + "attn_k.bias"]
        v = h @ W[p + "attn_v.weight"].T + W[p + "attn_v.bias"]
        q = rope(q.reshape(n, a.heads, hd).transpose(1, 0, 2), pos)
        k = rope(k.reshape(n, a.kv_heads, hd).transpose(1, 0, 2), pos)
        v = v.reshape(n, a.kv_heads, hd).transpose(1, 0, 2)
        g = a.heads // a.kv_heads
        out = np.empty((a.heads, n, hd))
        for hh in range(a.heads):
            s = q[hh] @ k[hh // g].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            out[hh] = (s / s.sum(-1, keepdims=True)) @ v[hh // g]
        x = x + out.transpose(1, 0, 2).reshape(n, -1) @ W[p + "attn_output.weight"].T
        h = rms(x, W[p + "ffn_norm.weight"])
        gt = h @ W[p + "ffn_gate.weight"].T
        up = h @ W[p + "ffn_up.weight"].T
        x = x + (gt / (1 + np.exp(-gt)) * up) @ W[p + "ffn_down.weight"].T
    return rms(x, W["output_norm.weight"]) @ W["output.weight"].T


def main():
    qinfer, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    a = types.SimpleNamespace(hidden=128, ffn=320, layers=2, heads=2, kv_heads=1, n_params=0)
    tok = byte_vocab()
    V, H, F, KV = len(tok[0]), a.hidden, a.ffn, a.hidden // a.heads * a.kv_heads
    r = lambda *s: (rng.standard_normal(s) * 0.08).astype(np.float32)  # noqa: E731
    tensors = [("token_embd.weight", r(V, H), "embd")]
    for i in range(a.layers):
        p = f"blk.{i}."
        tensors += [(p + "attn_norm.weight", (1 + r(H)).astype(np.float32), "small"),
                    (p + "attn_q.weight", r(H, H), "matrix"), (p + "attn_q.bias", r(H), "small"),
                    (p + "attn_k.weight", r(KV, H), "matrix"), (p + "attn_k.bias", r(KV), "small"),
                    (p + "attn_v.weight", r(KV, H), "matrix"), (p + "attn_v.bias", r(KV), "small"),
                    (p + "attn_output.weight", r(H, H), "matrix"),
                    (p + "ffn_norm.weight", (1 + r(H)).astype(np.float32), "small"),
                    (p + "ffn_gate.weight", r(F, H), "matrix"), (p + "ffn_up.weight", r(F, H), "matrix"),
                    (p + "ffn_down.weight", r(H, F), "matrix")]
    tensors += [("output_norm.weight", (1 + r(H)).astype(np.float32), "small"), ("output.weight", r(V, H) * 4, "head")]
    a.n_params = sum(x.size for _, x, _ in tensors)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed += bool(ok)
        failed += not ok
        print(("ok   " if ok else "FAIL ") + what, flush=True)

    text = "Hi!"
    for kind in ("q8_0", "q4_0"):
        path = os.path.join(work, f"selftest-{kind}.gguf")
        deq = train.export(path, kind, tensors, a, tok, {"qinfer.selftest": (G.U32, 1)})
        meta, back = G.read(path)
        want_types = {"embd": G.T_Q8_0 if kind == "q8_0" else G.T_Q4_0, "matrix": G.T_Q8_0 if kind == "q8_0" else G.T_Q4_0,
                      "head": G.T_Q8_0, "small": G.T_F32}
        check(all(back[n][0] == want_types[role] for n, _, role in tensors), f"{kind}: tensor types as the official layout")
        check(meta["qinfer.workload"] == "tiny-chat" and meta["tokenizer.ggml.pre"] == "qwen2", f"{kind}: metadata")
        info = subprocess.run([qinfer, "info", "-m", path], capture_output=True, text=True)
        check(info.returncode == 0 and "qwen2" in info.stdout, f"{kind}: qinfer info loads it ({info.stderr.strip()[:200]})")
        # ChatML prompt ids from qinfer's own tokenizer: byte tokens and specials
        ids = [V - 2] + list("user\nHi!".encode()) + [V - 1, 10]
        tk = subprocess.run([qinfer, "tokenize", "-m", path, "--special", "<|im_start|>user\n" + text + "<|im_end|>\n"],
                            capture_output=True, text=True)
        got = [int(x) for x in tk.stdout.split()]
        check(got == ids, f"{kind}: qinfer tokenizes ChatML into byte tokens and specials ({got[:6]}...)")
        idf = os.path.join(work, "ids.txt")
        with open(idf, "w") as f:
            f.write("".join(f"{i}\n" for i in ids))
        for mode in ("prefill", "step"):
            lf = os.path.join(work, f"logits-{kind}-{mode}.f32")
            cmd = [qinfer, "logits", "-m", path, "--ids", idf, "--out", lf, "--exact", "-t", "1"]
            rr = subprocess.run(cmd + (["--step"] if mode == "step" else []), capture_output=True, text=True)
            if rr.returncode:
                check(False, f"{kind} {mode}: qinfer logits failed: {rr.stderr.strip()[:300]}")
                continue
            ours = np.fromfile(lf, dtype="<f4").reshape(len(ids), V)
            ref = forward(deq, a, np.array(ids))
            d = float(np.abs(ours - ref).max())
            check(d <= 1e-3, f"{kind} {mode}: max |qinfer --exact - numpy float64| = {d:.2e} (<= 1e-3)")
    print(f"# {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
