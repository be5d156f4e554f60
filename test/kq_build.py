#!/usr/bin/env python3
"""Builds kqb-mix1 and kqb-mix2, two id-only Qwen2 models in every tensor type
the official Qwen2.5 GGUF files use, with golden logits from the shared
independent float64 forward (../shared/golden/ref_forward.py). test_golden_kinds
runs it, then checks qinfer's forward pass against the goldens.

The quantized weights start from ggml's own blocks: every matrix row is a
run of 256-value units (a K-quant super-block, eight legacy blocks, or 256
halves) taken from test/data/kquant/quant-kinds.txt, whose rows llama.cpp's
ggml_quantize_chunk wrote. In each unit the quant bytes of every block are
shuffled (any bytes make a valid block, and so no two rows are alike) and the
f16 scales multiplied by +-2^e, which scales the values exactly, so that the
rows get a trained model's spread; the sub-block scales stay ggml's. The
values the goldens use are this file's own numpy dequantization of the bytes
written: checked bit for bit against gguf-py's on the fixture's rows (their
sha256), and on every unit, scaled against unscaled times 2^e.

usage: kq_build.py --shared ../shared --out DIR
Exit status 77 when numpy is missing (the test reports SKIP), 1 on any other
failure."""
import argparse
import hashlib
import os
import struct
import sys

try:
    import numpy as np
except ImportError:
    print("kq_build.py: numpy is missing (apt-get install python3-numpy)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "data", "kquant", "quant-kinds.txt")
UNIT = 256
F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, BF16 = 0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 30
# GGML type: (fixture name, values per block, bytes per block, offsets of its f16 scale fields)
TYPES = {
    F16: ("f16", 1, 2, (0,)), BF16: ("bf16", 1, 2, None),
    Q4_0: ("q4_0", 32, 18, (0,)), Q4_1: ("q4_1", 32, 20, (0, 2)), Q5_0: ("q5_0", 32, 22, (0,)),
    Q5_1: ("q5_1", 32, 24, (0, 2)), Q8_0: ("q8_0", 32, 34, (0,)),
    Q4_K: ("q4_k", 256, 144, (0, 2)), Q5_K: ("q5_k", 256, 176, (0, 2)), Q6_K: ("q6_k", 256, 210, (208,)),
}
# the bytes of a block that hold quants (the K-quants' 6- and 8-bit sub-block scales excluded)
QUANTS = {Q4_0: (2, 18), Q4_1: (4, 20), Q5_0: (2, 22), Q5_1: (4, 24), Q8_0: (2, 34),
          Q4_K: (16, 144), Q5_K: (16, 176), Q6_K: (0, 192)}


# ---- dequantization, as the GGUF specification and ggml's reference code
# define it (float32 operations in ggml's order, so the results are bit-equal)

def f16(b, off):
    return b[:, off:off + 2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)


def scale_min_k4(s):  # s: (nb, 12) uint8 -> sc, m: (nb, 8)
    s = s.astype(np.uint32)
    sc = np.empty((s.shape[0], 8), np.uint32)
    m = np.empty_like(sc)
    sc[:, :4], m[:, :4] = s[:, 0:4] & 63, s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc.astype(np.float32), m.astype(np.float32)


def dequantize(t, raw):
    bb = TYPES[t][2]
    b = np.frombuffer(raw, np.uint8).reshape(-1, bb)
    if t == F16:
        return b.copy().view("<f2").astype(np.float32).reshape(-1)
    if t == BF16:
        return (b.copy().view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(-1)
    if t in (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0):
        d = f16(b, 0)
        if t == Q8_0:
            return (b[:, 2:].copy().view(np.int8).astype(np.float32) * d).reshape(-1)
        qs = b[:, {Q4_0: 2, Q4_1: 4, Q5_0: 6, Q5_1: 8}[t]:]
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int32)
        if t in (Q5_0, Q5_1):
            qh = b[:, 2 + 2 * (t == Q5_1):][:, :4].copy().view("<u4").astype(np.uint32)  # (nb, 1)
            q |= (((qh >> np.arange(32, dtype=np.uint32)) & 1) << 4).astype(np.int32)
        if t == Q4_0:
            return ((q - 8).astype(np.float32) * d).reshape(-1)
        if t == Q5_0:
            return ((q - 16).astype(np.float32) * d).reshape(-1)
        return (q.astype(np.float32) * d + f16(b, 2)).reshape(-1)
    if t in (Q4_K, Q5_K):
        d, dmin = f16(b, 0), f16(b, 2)
        sc, m = scale_min_k4(b[:, 4:16])
        d1, m1 = d * sc, dmin * m  # (nb, 8): one per 32 values
        qs = b[:, 16 + 32 * (t == Q5_K):].reshape(-1, 4, 32)  # four 32-byte runs, each two sub-blocks
        q = np.stack([qs & 0xF, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
        if t == Q5_K:
            qh = b[:, 16:48]  # bit j of qh[l] is the high bit of sub-block j's value l
            q += (((qh[:, None, :] >> np.arange(8, dtype=np.uint8)[None, :, None]) & 1) * 16).astype(np.float32)
        return (d1[:, :, None] * q - m1[:, :, None]).reshape(-1)
    # Q6_K: ql[128] qh[64] scales[16] d
    ql, qh = b[:, :128].reshape(-1, 2, 64), b[:, 128:192].reshape(-1, 2, 32)
    sc = b[:, 192:208].copy().view(np.int8).astype(np.float32)
    d = f16(b, 208)
    lo = np.concatenate([ql[:, :, :32] & 0xF, ql[:, :, 32:] & 0xF, ql[:, :, :32] >> 4, ql[:, :, 32:] >> 4], axis=2)
    hi = np.concatenate([(qh >> s) & 3 for s in (0, 2, 4, 6)], axis=2)
    q = ((lo | (hi << 4)).astype(np.int32) - 32).astype(np.float32).reshape(-1, 16, 16)  # 16 runs of 16
    return ((d * sc)[:, :, None] * q).reshape(-1)


# ---- the fixture's units

def load_units():
    """{type: [unit bytes]}: 12 units per type; each row's values checked against gguf-py's"""
    q, sha = {}, {}
    for line in open(FIXTURE):
        if line.startswith("#"):
            continue
        kind, what, row, data = line.split()
        if what == "q":
            q[kind, int(row)] = bytes.fromhex(data)
        elif what == "deq":
            sha[kind, int(row)] = data
    units = {}
    for t, (name, bs, bb, _) in TYPES.items():
        units[t] = []
        for r in range(6):
            raw = q[name, r]
            got = hashlib.sha256(dequantize(t, raw).astype("<f4").tobytes()).hexdigest()
            if got != sha[name, r]:
                sys.exit(f"kq_build.py: {name} row {r}: this dequantization differs from gguf-py's")
            ub = UNIT // bs * bb
            units[t] += [raw[i:i + ub] for i in range(0, len(raw), ub)]
    return units


def scaled(t, raw, s):
    """raw with its scales (or, for f16/bf16, its values) times s; None where that is not exact"""
    bb, fields = TYPES[t][2:]
    b = np.frombuffer(raw, np.uint8).reshape(-1, bb).copy()
    if t == BF16:
        v = dequantize(t, raw) * np.float32(s)
        bits = v.view(np.uint32)
        if (bits & 0xFFFF).any() or not np.isfinite(v).all():
            return None
        return (bits >> 16).astype("<u2").tobytes()
    for off in fields:  # f16 values are one-value blocks
        cols = slice(off, off + 2)
        h = b[:, cols].copy().view("<f2").astype(np.float32)
        h2 = (h * np.float32(s)).astype(np.float16)
        if not (np.isfinite(h2).all() and (h2.astype(np.float32) == h * np.float32(s)).all()):
            return None
        b[:, cols] = h2.view(np.uint8).reshape(-1, 2)
    out = b.tobytes()
    if not np.array_equal(dequantize(t, out), dequantize(t, raw) * np.float32(s)):
        return None
    return out


def shuffled(rng, t, raw):
    """raw with the quant bytes of each block (every byte but the scales) in a
    random order: still a valid block, and no two rows alike"""
    b = np.frombuffer(raw, np.uint8).reshape(-1, TYPES[t][2]).copy()
    if t in (F16, BF16):
        return b[rng.permutation(len(b))].tobytes()
    lo, hi = QUANTS[t]
    for blk in b:
        blk[lo:hi] = blk[lo:hi][rng.permutation(hi - lo)]
    return b.tobytes()


def matrix(rng, units, t, n_out, n_in, target_rms):
    """n_out rows of n_in values in type t, each unit scaled to about
    target_rms: (bytes, float32 values)"""
    raw, val = bytearray(), np.empty((n_out, n_in), np.float32)
    for r in range(n_out):
        for u in range(n_in // UNIT):
            while True:
                src = shuffled(rng, t, units[t][rng.integers(len(units[t]))])
                v = dequantize(t, src)
                rms = float(np.sqrt(np.mean(v.astype(np.float64) ** 2)))
                e = int(np.round(np.log2(target_rms / rms))) if rms > 0 else 0
                s = float(2.0 ** e) * (1 if rng.integers(2) else -1)
                out = scaled(t, src, s)
                if out is not None:
                    break
            raw += out
            val[r, u * UNIT:(u + 1) * UNIT] = v * np.float32(s)
    return bytes(raw), val


# ---- the two models

HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB, LAYERS = 256, 4, 1, 64, 512, 256, 2
# tensor types per layer: q, k, v, o, gate, up, down; then token_embd and output (None: tied)
MIXES = {
    "kqb-mix1": ([(Q4_K, Q5_K, Q6_K, Q5_0, Q5_1, Q4_1, Q6_K), (Q8_0, Q8_0, Q8_0, Q4_0, Q4_0, Q8_0, F16)], Q5_0, Q6_K),
    "kqb-mix2": ([(Q5_1, BF16, Q5_0, Q4_K, Q6_K, Q5_K, Q4_K), (Q4_1, Q4_K, Q5_1, Q6_K, Q4_K, Q5_0, Q5_K)], Q6_K, None),
}


def build(name, seed, units):
    rng = np.random.default_rng(seed)
    T, W = [], {}  # T: (name, ne, type, bytes)

    def add(tname, t, n_out, n_in, rms):
        raw, W[tname] = matrix(rng, units, t, n_out, n_in, rms)
        T.append((tname, [n_in, n_out], t, raw))

    def add_f32(tname, v):
        W[tname] = v.astype(np.float32)
        T.append((tname, [len(v)], F32, W[tname].astype("<f4").tobytes()))

    layers, embd, out = MIXES[name]
    kv = KV_HEADS * HEAD_DIM
    # a tied head reads the embedding: 0.2 gives it the untied head's logit
    # spread (about 3, as the shared models have), for which tier C was set
    add("token_embd.weight", embd, VOCAB, HIDDEN, 0.3 if out is not None else 0.2)
    for l, (tq, tk, tv, to, tg, tu, td) in enumerate(layers):
        p = f"blk.{l}."
        add_f32(p + "attn_norm.weight", rng.uniform(0.8, 1.2, HIDDEN))
        for n, t, rows in (("q", tq, HIDDEN), ("k", tk, kv), ("v", tv, kv)):
            add(p + f"attn_{n}.weight", t, rows, HIDDEN, 1.25 / np.sqrt(HIDDEN))
            add_f32(p + f"attn_{n}.bias", rng.normal(0, 0.1, rows))
        add(p + "attn_output.weight", to, HIDDEN, HIDDEN, 1 / np.sqrt(HIDDEN))
        add_f32(p + "ffn_norm.weight", rng.uniform(0.8, 1.2, HIDDEN))
        add(p + "ffn_gate.weight", tg, FFN, HIDDEN, 1.25 / np.sqrt(HIDDEN))
        add(p + "ffn_up.weight", tu, FFN, HIDDEN, 1.25 / np.sqrt(HIDDEN))
        add(p + "ffn_down.weight", td, HIDDEN, FFN, 1 / np.sqrt(FFN))
    add_f32("output_norm.weight", rng.uniform(0.8, 1.2, HIDDEN))
    if out is not None:
        add("output.weight", out, VOCAB, HIDDEN, 0.15)
    return T, W


def gguf_bytes(name, tensors):
    kv = [("general.architecture", 8, "qwen2"), ("general.name", 8, name),
          ("qwen2.block_count", 4, LAYERS), ("qwen2.context_length", 4, 4096),
          ("qwen2.embedding_length", 4, HIDDEN), ("qwen2.feed_forward_length", 4, FFN),
          ("qwen2.attention.head_count", 4, HEADS), ("qwen2.attention.head_count_kv", 4, KV_HEADS),
          ("qwen2.rope.freq_base", 6, 1e6), ("qwen2.attention.layer_norm_rms_epsilon", 6, 1e-6),
          ("qwen2.vocab_size", 4, VOCAB), ("tokenizer.ggml.model", 8, "none"),
          ("general.quantization_version", 4, 2)]
    s = lambda x: struct.pack("<Q", len(x.encode())) + x.encode()
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
    for key, vt, v in kv:
        out += s(key) + struct.pack("<I", vt)
        out += s(v) if vt == 8 else struct.pack({4: "<I", 6: "<f"}[vt], v)
    off = 0
    for tname, ne, t, raw in tensors:
        out += s(tname) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", t, off)
        off += (len(raw) + 31) // 32 * 32
    out += bytes(-len(out) % 32)
    for _, _, _, raw in tensors:
        out += raw + bytes(-len(raw) % 32)
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.shared, "golden"))
    from ref_forward import Qwen2Ref
    from gguf_min import GGUFFile

    os.makedirs(a.out, exist_ok=True)
    units = load_units()
    rng = np.random.default_rng(3103)
    seqs = {s: rng.integers(0, VOCAB, n) for s, n in (("S1", 8), ("S2", 64), ("S3", 128))}
    for s, ids in seqs.items():
        open(os.path.join(a.out, f"kqb.{s}.ids.txt"), "w").write("".join(f"{i}\n" for i in ids))
    cfg = {"rms_norm_eps": 1e-6, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
           "head_dim": HEAD_DIM, "rope_theta": 1e6, "num_hidden_layers": LAYERS}
    for seed, name in enumerate(MIXES, 3203):
        T, W = build(name, seed, units)
        path = os.path.join(a.out, name + ".gguf")
        open(path, "wb").write(gguf_bytes(name, T))
        g = GGUFFile(path)  # the shared reader agrees on layout (it decodes only F32)
        for tname, ne, t, raw in T:
            if g.tensors[tname][:2] != (t, ne):
                sys.exit(f"kq_build.py: {tname} reads back as {g.tensors[tname][:2]}")
            if t == F32 and not np.array_equal(g.tensor(tname), W[tname]):
                sys.exit(f"kq_build.py: {tname} reads back different values")
        ref = Qwen2Ref(W, cfg, np.float64)
        for s, ids in seqs.items():
            ref.forward(ids).astype("<f4").tofile(os.path.join(a.out, f"{name}.{s}.logits.f32"))
        ids, greedy, margins = list(seqs["S2"]), [], []
        for _ in range(32):
            row = ref.forward(ids, last_only=True)[0]
            top = int(np.argmax(row))
            margins.append(row[top] - np.max(np.delete(row, top)))
            greedy.append(top)
            ids.append(top)
        open(os.path.join(a.out, f"{name}.greedy32.txt"), "w").write("".join(f"{i}\n" for i in greedy))
        open(os.path.join(a.out, f"{name}.greedy32.margins.txt"), "w").write("".join(f"{m:.6f}\n" for m in margins))
        types = sorted({TYPES[t][0] for _, _, t, _ in T if t != F32})
        print(f"{name}: {len(T)} tensors ({', '.join(types)}), {os.path.getsize(path)} bytes, "
              f"greedy32 min margin {min(margins):.4f}")


if __name__ == "__main__":
    main()
