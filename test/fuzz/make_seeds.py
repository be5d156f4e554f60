"""The fuzz targets' seeds. GGUF files are written at build time, never
committed (`make` runs `python3 test/fuzz/make_seeds.py build/fuzz-seeds/gguf`):
a 1-layer F32 Qwen2 with an 8-wide embedding and a 262-token byte-level
vocabulary, the same at width 32 in Q8_0, a vocabulary-only file, and the
hostile ones test/test_reliability.c loads by name (bad-*.gguf). With --text
it also rewrites the committed seeds in test/fuzz/corpus/: texts for the
tokenizer, message lists for the chat template, worker replies. Run from the
repository root."""
import os
import sys

import numpy as np

sys.path.insert(0, "tools/train_tiny")
import gguf_out as G  # noqa: E402

OUT = "test/fuzz/corpus"  # the committed text seeds


def vocab(w):
    tokens = G.byte_tokens() + ["Ġt", "he", "Ġthe", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * (len(tokens) - 3) + [3, 3, 3]
    w.add("tokenizer.ggml.model", G.STRING, "gpt2")
    w.add("tokenizer.ggml.pre", G.STRING, "qwen2")
    w.add("tokenizer.ggml.tokens", G.ARRAY, (G.STRING, tokens))
    w.add("tokenizer.ggml.token_type", G.ARRAY, (G.I32, types))
    w.add("tokenizer.ggml.merges", G.ARRAY, (G.STRING, ["Ġ t", "h e", "Ġt he"]))
    w.add("tokenizer.ggml.eos_token_id", G.U32, tokens.index("<|im_end|>"))
    return len(tokens)


def model(path, width, ttype, meta_width=None, emb_rows=None, values=None, raw=None):
    """values: {tensor: f(array) -> array}, raw: {tensor: f(bytes) -> bytes},
    meta_width / emb_rows: metadata or embedding that disagree with the rest"""
    rng = np.random.default_rng(7)
    w = G.Writer()
    w.add("general.architecture", G.STRING, "qwen2")
    w.add("general.name", G.STRING, "fuzz seed")
    heads, kv, ffn = 2, 1, 2 * width
    hd = width // heads
    for k, v in [("block_count", 1), ("context_length", 4096), ("embedding_length", meta_width or width),
                 ("feed_forward_length", ffn), ("attention.head_count", heads), ("attention.head_count_kv", kv)]:
        w.add(f"qwen2.{k}", G.U32, v)
    w.add("qwen2.rope.freq_base", G.F32, 1e6)
    w.add("qwen2.attention.layer_norm_rms_epsilon", G.F32, 1e-6)
    n_vocab = vocab(w)

    def t(name, shape, tt=G.T_F32):
        x = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        if values and name in values:
            x = values[name](x)
        w.add_tensor(name, tt, x)
        if raw and name in raw:
            n, t_, sh, data = w.tensors[-1]
            w.tensors[-1] = (n, t_, sh, raw[name](data))

    t("token_embd.weight", (emb_rows or n_vocab, width), ttype)
    t("output_norm.weight", (width,))
    t("blk.0.attn_norm.weight", (width,))
    t("blk.0.attn_q.weight", (width, width), ttype)
    t("blk.0.attn_q.bias", (width,))
    t("blk.0.attn_k.weight", (kv * hd, width), ttype)
    t("blk.0.attn_k.bias", (kv * hd,))
    t("blk.0.attn_v.weight", (kv * hd, width), ttype)
    t("blk.0.attn_v.bias", (kv * hd,))
    t("blk.0.attn_output.weight", (width, width), ttype)
    t("blk.0.ffn_norm.weight", (width,))
    t("blk.0.ffn_gate.weight", (ffn, width), ttype)
    t("blk.0.ffn_up.weight", (ffn, width), ttype)
    t("blk.0.ffn_down.weight", (width, ffn), ttype)
    w.write(path)


def vocab_only(path):
    w = G.Writer()
    w.add("general.architecture", G.STRING, "qwen2")
    vocab(w)
    w.write(path)


def put(target, name, data):
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def main():
    gguf = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--text" else None
    if gguf:
        os.makedirs(gguf, exist_ok=True)
        model(os.path.join(gguf, "f32-w8.gguf"), 8, G.T_F32)
        model(os.path.join(gguf, "q8_0-w32.gguf"), 32, G.T_Q8_0)
        vocab_only(os.path.join(gguf, "vocab-only.gguf"))

        def nan_at_3(x):
            x[3] = np.nan
            return x

        def inf_scale_block_5(data):
            b = bytearray(data)
            b[5 * 34:5 * 34 + 2] = bytes([0x00, 0x7c])  # f16 +inf, little-endian
            return bytes(b)

        model(os.path.join(gguf, "bad-nan-norm.gguf"), 8, G.T_F32, values={"output_norm.weight": nan_at_3})
        model(os.path.join(gguf, "bad-inf-scale.gguf"), 32, G.T_Q8_0, raw={"blk.0.ffn_up.weight": inf_scale_block_5})
        model(os.path.join(gguf, "bad-shape.gguf"), 8, G.T_F32, meta_width=16)
        model(os.path.join(gguf, "bad-vocab-rows.gguf"), 8, G.T_F32, emb_rows=200)
    if "--text" not in sys.argv:
        return
    for t in ("tokenizer", "chat", "protocol"):
        os.makedirs(os.path.join(OUT, t), exist_ok=True)
    texts = [b"Hello world", b"What is 17 + 31?", b"<|im_start|>user\nhi<|im_end|>\n",
             "naïve café – 東京 🙂".encode(), b"  spaces\t\ttabs\r\n\n123456789 don't I'll", b"\xff\xfe bad \xc3"]
    for i, s in enumerate(texts):
        put("tokenizer", f"text-{i}", b"\0" + s)
    put("tokenizer", "ids", b"\1" + np.array([0, 17, 300, 3071, 3072, -1, 151645], dtype="<i4").tobytes())
    chats = [b"\1user\0What is 2 + 2?", b"\0system\0Be brief.\0user\0Hi\0assistant\0Hello!\0user\0Bye",
             b"\1tool\0{\"x\": 1}\0user\0", b"\1robot\0beep"]
    for i, s in enumerate(chats):
        put("chat", f"msgs-{i}", s)
    replies = [b"R 3072 avx2 2\nt 5\nt 17\ne 0\n", b"h 2 5 60 9 40\ne 0\n", b"l 3072\n", b"e 3 the sampler failed\n",
               b"t 3072\nt -1\nt 0x10\nh 1 5 100\n"]
    for i, s in enumerate(replies):
        put("protocol", f"reply-{i}", s)
    # the judge's commands, as judge.c writes them, for the worker's parser
    commands = {
        "generate": b"G T 128 0.699999988 20 0.800000012 0 1.04999995 64 42 5 3 872 198 3038 4\n",
        "force": b"F 1 0 1 0 1 0 7 4 1 2 3 4\nQ\n",
        "sample": b"S 0.699999988 20 0.800000012 0.0500000007 1.10000002 64 18446744073709551615 10000 3 5 6 7\n",
        "sanity": b"G N 64 0 0 1 0 1 0 1 2 10 11\nG T 0 0 0 1 0 1 0 1 1 0\nQ\n",
    }
    for name, s in commands.items():
        put("protocol", f"command-{name}", s)


main()
