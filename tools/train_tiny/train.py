#!/usr/bin/env python3
"""Train qinfer's tiny chat model and write everything data/tiny-chat/ holds.

  python3 tools/train_tiny/train.py --out DIR            (on the device machine: one H200)
  python3 tools/train_tiny/train.py --out DIR --smoke    (a minute: every stage, tiny numbers)
  python3 tools/train_tiny/train.py --out DIR --from DIR_WITH_master.pt --qat-steps N
                                                         (re-run QAT and export from saved weights)

Stages, each writing into DIR as it finishes:
  1. corpus (corpus.py, fixed seed)
  2. byte-level BPE on the corpus: Qwen2's split regex, NFC, all 256 byte
     tokens, then <|endoftext|> <|im_start|> <|im_end|> appended (Qwen's order)
  3. Qwen2ForCausalLM from a fixed seed; loss on the assistant's answer (and
     <|im_end|>) and on prose; AdamW, warm-up then cosine
  4. quantization-aware fine-tune: Q4_0 fake-quantized matrices and embedding,
     Q8_0 head, straight-through gradients
  5. GGUF export with the project's writer: tiny-chat-q8_0.gguf (all matrices
     Q8_0) and tiny-chat-q4_0.gguf (the official file's layout: Q4_0 matrices
     and embedding, Q8_0 output.weight, F32 norms and biases)
  6. goldens: transformers on CPU in float32 (eager attention) from each file's
     dequantized weights: logits summaries for S1-S3, greedy32 and margins
  7. tokenizer reference: ids from the `tokenizers` library for test strings
  8. a first score of the held-out prompts with transformers (qinfer's own
     numbers come from `make test`)
  9. train_record.json"""
import argparse
import json
import math
import os
import platform
import random
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checks  # noqa: E402
import corpus  # noqa: E402
import gguf_out as G  # noqa: E402

QWEN2_SPLIT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
               r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
                 "{{ '<|im_start|>system\\n" + corpus.DEFAULT_SYSTEM + "<|im_end|>\\n' }}{% endif %}"
                 "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

TOKENIZER_TESTS = [
    "What is 17 + 31?", "Hello world", " Hello world", "Hello  world", "hello\n\nworld\n", "   leading spaces",
    "trailing spaces   ", "tabs\tand\tnewlines\r\n", "I'm sure they'll say it's fine, we've done it, I'd go.",
    "don't DON'T Don'T", "numbers 1234567890 and 3.14159", "x = [1, 2, 3]\nprint(x[::-1])",
    "def add(a, b):\n    return a + b\n", "    indented\n        twice", "café naïve résumé", "Cafe\u0301 (decomposed)",
    "日本語のテキスト", "你好，世界", "おはようございます", "emoji 🙂🚀 mixed", "Ünïcödé ÀÉÎÕÜ", "¿Qué tal? ¡Bien!",
    "<|im_start|>user\nHi<|im_end|>\n", "<|im_start|>assistant\n48<|im_end|>", "<|endoftext|>",
    "a<|im_end|>b", "!!!???...,,,", "$$$ ### @@@", "mixed123numbers456", "UPPER lower MiXeD",
    "\n", " ", "", "a", "The quick brown fox jumps over the lazy dog.",
    "Repeat these words: apple, river, stone.", "Write a four-line poem about the sea.",
    "zzzzqqqqxxxx unseen letters", "ÿþýüû", "\u00a0non-breaking\u00a0space", "Ω≈ç√∫˜µ≤≥÷",
]


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# ---- tokenizer ----------------------------------------------------------------------

def train_tokenizer(texts, vocab_size):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tk = Tokenizer(models.BPE())
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(SPECIALS), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tk.train_from_iterator(texts, trainer=trainer)
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    return tk


def tokenizer_tables(tk):
    vocab = tk.get_vocab(with_added_tokens=True)
    n = len(vocab)
    tokens = [None] * n
    for t, i in vocab.items():
        tokens[i] = t
    assert all(t is not None for t in tokens), "token ids are not contiguous"
    merges = json.loads(tk.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else m[0] + " " + m[1] for m in merges]
    types = [3 if t in SPECIALS else 1 for t in tokens]
    return tokens, types, merges


# ---- data -----------------------------------------------------------------------------

def encode_examples(tk, examples, max_len):
    """-> list of (ids, first trained position): loss on ids[first:]"""
    im_end, eot = tk.token_to_id("<|im_end|>"), tk.token_to_id("<|endoftext|>")
    prompts, answers, prose = [], [], []
    for e in examples:
        if "prose" in e:
            prose.append(e["prose"])
        else:
            msgs = e["messages"]
            prompts.append(corpus.render(msgs[:-1], True))
            answers.append(msgs[-1][1])
    out = []
    P = tk.encode_batch(prompts, add_special_tokens=False)
    A = tk.encode_batch(answers, add_special_tokens=False)
    for p, a in zip(P, A):
        ids = p.ids + a.ids + [im_end]
        if len(ids) <= max_len:
            out.append((ids, len(p.ids)))
    for p in tk.encode_batch(prose, add_special_tokens=False):
        ids = p.ids[:max_len - 1] + [eot]
        out.append((ids, 1))
    return out


def to_tensors(torch, seqs, pad_id, device):
    L = max(len(s) for s, _ in seqs)
    ids = np.full((len(seqs), L), pad_id, dtype=np.int64)
    lab = np.full((len(seqs), L), -100, dtype=np.int64)
    lens = np.zeros(len(seqs), dtype=np.int64)
    for i, (s, first) in enumerate(seqs):
        ids[i, :len(s)] = s
        lab[i, first:len(s)] = s[first:]
        lens[i] = len(s)
    return torch.tensor(ids, device=device), torch.tensor(lab, device=device), lens


def batches(rng, lens, bsz):
    """Length-bucketed random batches: shuffle, sort within windows of 64 batches."""
    idx = rng.permutation(len(lens))
    out = []
    win = bsz * 64
    for w in range(0, len(idx), win):
        chunk = idx[w:w + win]
        chunk = chunk[np.argsort(lens[chunk], kind="stable")]
        out += [chunk[i:i + bsz] for i in range(0, len(chunk) - bsz + 1, bsz)]
    rng.shuffle(out)
    return out


# ---- model ------------------------------------------------------------------------------

def make_config(transformers, a, vocab):
    kw = dict(vocab_size=vocab, hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
              num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, max_position_embeddings=32768,
              rms_norm_eps=1e-6, hidden_act="silu", tie_word_embeddings=False, use_sliding_window=False,
              attention_dropout=0.0, use_cache=True)
    try:
        return transformers.Qwen2Config(**kw, rope_parameters={"rope_type": "default", "rope_theta": 1e6})
    except TypeError:
        return transformers.Qwen2Config(**kw, rope_theta=1e6)


def fake_q4_0(torch, w):
    b = w.reshape(-1, 32)
    i = b.abs().argmax(dim=1, keepdim=True)
    d = b.gather(1, i) / -8.0
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.trunc(b * inv + 8.5), max=15)
    deq = ((q - 8) * d.half().float()).reshape(w.shape)
    return w + (deq - w).detach()


def fake_q8_0(torch, w):
    b = w.reshape(-1, 32)
    d = b.abs().amax(dim=1, keepdim=True) / 127.0
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.round(b * inv)
    deq = (q * d.half().float()).reshape(w.shape)
    return w + (deq - w).detach()


def gguf_tensors(sd, n_layers):
    """HF state dict -> [(gguf name, numpy float32, 'matrix'|'embd'|'head'|'small')]"""
    g = lambda k: sd[k].detach().float().cpu().numpy()  # noqa: E731
    out = [("token_embd.weight", g("model.embed_tokens.weight"), "embd")]
    for i in range(n_layers):
        p = f"model.layers.{i}."
        out += [(f"blk.{i}.attn_norm.weight", g(p + "input_layernorm.weight"), "small")]
        for x in "qkv":
            out += [(f"blk.{i}.attn_{x}.weight", g(p + f"self_attn.{x}_proj.weight"), "matrix"),
                    (f"blk.{i}.attn_{x}.bias", g(p + f"self_attn.{x}_proj.bias"), "small")]
        out += [(f"blk.{i}.attn_output.weight", g(p + "self_attn.o_proj.weight"), "matrix"),
                (f"blk.{i}.ffn_norm.weight", g(p + "post_attention_layernorm.weight"), "small"),
                (f"blk.{i}.ffn_gate.weight", g(p + "mlp.gate_proj.weight"), "matrix"),
                (f"blk.{i}.ffn_up.weight", g(p + "mlp.up_proj.weight"), "matrix"),
                (f"blk.{i}.ffn_down.weight", g(p + "mlp.down_proj.weight"), "matrix")]
    out += [("output_norm.weight", g("model.norm.weight"), "small"), ("output.weight", g("lm_head.weight"), "head")]
    return out


def hf_name(gname):
    if gname == "token_embd.weight":
        return "model.embed_tokens.weight"
    if gname == "output.weight":
        return "lm_head.weight"
    if gname == "output_norm.weight":
        return "model.norm.weight"
    _, i, rest = gname.split(".", 2)
    m = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
         "attn_output.weight": "self_attn.o_proj.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
         "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight"}
    if rest in m:
        return f"model.layers.{i}.{m[rest]}"
    x, kind = rest[5], rest.split(".")[1]  # attn_q.weight
    return f"model.layers.{i}.self_attn.{x}_proj.{kind}"


def export(path, kind, tensors, a, tok, meta_extra):
    tokens, types, merges = tok
    w = G.Writer()
    w.add("general.architecture", G.STRING, "qwen2")
    w.add("general.type", G.STRING, "model")
    w.add("general.name", G.STRING, f"qinfer tiny-chat {kind}: a {a.n_params / 1e6:.1f}M-parameter Qwen2-architecture "
          "chat model trained by tools/train_tiny on a synthetic corpus (sums, word lists, facts, Python, poems)")
    w.add("general.license", G.STRING, "MIT")
    w.add("qwen2.block_count", G.U32, a.layers)
    w.add("qwen2.context_length", G.U32, 32768)
    w.add("qwen2.embedding_length", G.U32, a.hidden)
    w.add("qwen2.feed_forward_length", G.U32, a.ffn)
    w.add("qwen2.attention.head_count", G.U32, a.heads)
    w.add("qwen2.attention.head_count_kv", G.U32, a.kv_heads)
    w.add("qwen2.rope.freq_base", G.F32, 1e6)
    w.add("qwen2.attention.layer_norm_rms_epsilon", G.F32, 1e-6)
    w.add("general.file_type", G.U32, 7 if kind == "q8_0" else 2)
    w.add("tokenizer.ggml.model", G.STRING, "gpt2")
    w.add("tokenizer.ggml.pre", G.STRING, "qwen2")
    w.add("tokenizer.ggml.tokens", G.ARRAY, (G.STRING, tokens))
    w.add("tokenizer.ggml.token_type", G.ARRAY, (G.I32, types))
    w.add("tokenizer.ggml.merges", G.ARRAY, (G.STRING, merges))
    w.add("tokenizer.ggml.eos_token_id", G.U32, tokens.index("<|im_end|>"))
    w.add("tokenizer.ggml.padding_token_id", G.U32, tokens.index("<|endoftext|>"))
    w.add("tokenizer.ggml.bos_token_id", G.U32, tokens.index("<|endoftext|>"))
    w.add("tokenizer.ggml.add_bos_token", G.BOOL, False)
    w.add("tokenizer.chat_template", G.STRING, CHAT_TEMPLATE)
    w.add("general.quantization_version", G.U32, 2)
    w.add("qinfer.workload", G.STRING, "tiny-chat")
    for k, (vt, v) in meta_extra.items():
        w.add(k, vt, v)
    deq = {}
    for name, x, role in tensors:
        if role == "small":
            tt = G.T_F32
        elif role == "head":
            tt = G.T_Q8_0
        else:
            tt = G.T_Q8_0 if kind == "q8_0" else G.T_Q4_0
        data = w.add_tensor(name, tt, x)
        deq[name] = G.dequantize(tt, data, x.shape)
    w.write(path + ".tmp")
    os.replace(path + ".tmp", path)
    return deq


# ---- goldens --------------------------------------------------------------------------

def golden(torch, transformers, a, vocab, deq, seqs, out_dir, variant):
    cfg = make_config(transformers, a, vocab)
    m = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    m = m.float().eval()
    sd = {hf_name(k): torch.from_numpy(v.copy()) for k, v in deq.items()}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    missing = [k for k in missing if "rotary" not in k]
    assert not missing and not unexpected, (missing, unexpected)
    for k, v in sd.items():
        assert torch.equal(m.state_dict()[k], v), k
    stats = {}
    with torch.no_grad():
        for name, ids in seqs.items():
            x = torch.tensor([ids])
            lg = m(input_ids=x, use_cache=False).logits[0].double()
            f32 = lg.float().numpy()
            lse = torch.logsumexp(lg, dim=-1).float().numpy()
            # top-8, logit descending, ties to the lower id
            order = np.lexsort((np.arange(vocab)[None, :].repeat(len(ids), 0), -f32), axis=1)[:, :8]
            top8 = order.astype(np.int32)
            top8l = np.take_along_axis(f32, top8, axis=1).astype(np.float32)
            pre = f"{out_dir}/{variant}.{name}"
            lse.astype("<f4").tofile(pre + ".lse.f32")
            top8[:, 0].astype("<i4").tofile(pre + ".argmax.i32")
            top8.astype("<i4").tofile(pre + ".top8_ids.i32")
            top8l.astype("<f4").tofile(pre + ".top8_logits.f32")
            f32[0].astype("<f4").tofile(pre + ".logits_pos0.f32")
            f32[-1].astype("<f4").tofile(pre + ".logits_last.f32")
            stats[name] = {"n": len(ids), "min_margin": float((top8l[:, 0] - top8l[:, 1]).min())}
        # greedy32 after S2 through the cache, end-of-sequence ignored
        x = torch.tensor([seqs["S2"]])
        out = m(input_ids=x, use_cache=True)
        toks, margins = [], []
        for _ in range(32):
            row = out.logits[0, -1].double()
            v, i = torch.topk(row, 2)
            t = int(torch.argmax(row))
            toks.append(t)
            margins.append(float(v[0] - v[1]))
            out = m(input_ids=torch.tensor([[t]]), past_key_values=out.past_key_values, use_cache=True)
        with open(f"{out_dir}/{variant}.greedy32.txt", "w") as f:
            f.write("".join(f"{t}\n" for t in toks))
        with open(f"{out_dir}/{variant}.greedy32.margins.txt", "w") as f:
            f.write("".join(f"{x:.6g}\n" for x in margins))
        # the same tokens from a no-cache prefill: the cache path agrees
        full = m(input_ids=torch.tensor([seqs["S2"] + toks[:-1]]), use_cache=False).logits[0]
        nc = full[len(seqs["S2"]) - 1:].argmax(-1).tolist()
        stats["greedy32_nocache_agrees"] = nc == toks
        stats["greedy32_min_margin"] = min(margins)
    return stats


# ---- held-out score with transformers ----------------------------------------------

def hf_score(torch, transformers, a, vocab, deq, tk, held, device, sample, seed):
    cfg = make_config(transformers, a, vocab)
    m = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    m.load_state_dict({hf_name(k): torch.from_numpy(v.copy()) for k, v in deq.items()}, strict=False)
    m = m.to(device).eval()
    im_end, eot = tk.token_to_id("<|im_end|>"), tk.token_to_id("<|endoftext|>")
    prompts = [tk.encode(corpus.render([["user", h["prompt"]]], True), add_special_tokens=False).ids for h in held]
    L = max(len(p) for p in prompts)
    ids = torch.tensor([[eot] * (L - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts], device=device)
    torch.manual_seed(seed)
    kw = dict(do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05) if sample else \
        dict(do_sample=False)
    with torch.no_grad():
        out = m.generate(input_ids=ids, attention_mask=mask, max_new_tokens=120, eos_token_id=im_end,
                         pad_token_id=eot, **kw)
    ok = 0
    per_task = {}
    answers = []
    for h, row in zip(held, out[:, L:].tolist()):
        if im_end in row:
            row = row[:row.index(im_end)]
        ans = tk.decode([t for t in row if t != eot], skip_special_tokens=False)
        good = checks.check(h["check"], h["want"], ans)
        ok += good
        t = per_task.setdefault(h["task"], [0, 0])
        t[0] += good
        t[1] += 1
        answers.append({"id": h["id"], "ok": good, "answer": ans})
    return ok / len(held), per_task, answers


def perplexity(torch, transformers, a, vocab, deq, tk, text, device):
    cfg = make_config(transformers, a, vocab)
    m = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    m.load_state_dict({hf_name(k): torch.from_numpy(v.copy()) for k, v in deq.items()}, strict=False)
    m = m.to(device).eval()
    ids = tk.encode(text, add_special_tokens=False).ids
    with torch.no_grad():
        x = torch.tensor([ids], device=device)
        lg = m(input_ids=x).logits[0, :-1].float()
        nll = torch.nn.functional.cross_entropy(lg, x[0, 1:], reduction="mean")
    return math.exp(float(nll)), len(ids)


# ---- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=3072)
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--kv-heads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--qat-steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--qat-lr", type=float, default=3e-4)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--smoke", action="store_true", help="every stage with tiny numbers")
    ap.add_argument("--time-limit", type=float, default=300, help="seconds: training stops early past this, QAT past a third of it (recorded)")
    ap.add_argument("--from", dest="from_dir", help="skip training: load master.pt and tokenizer.json from here")
    a = ap.parse_args()
    if a.smoke:
        a.steps, a.qat_steps = 60, 20
    os.makedirs(a.out, exist_ok=True)
    gold_dir = os.path.join(a.out, "golden")
    os.makedirs(gold_dir, exist_ok=True)
    t_start = time.time()
    record = {"command": " ".join(sys.argv), "args": vars(a), "python": platform.python_version()}

    import torch
    import transformers
    import tokenizers
    record["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                          "tokenizers": tokenizers.__version__, "numpy": np.__version__}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    record["device"] = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor()
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)

    # 1. corpus
    examples, held, eval_text = corpus.build(a.seed)
    if a.smoke:
        examples = examples[:6000]
    with open(os.path.join(a.out, "heldout.tsv"), "w", encoding="utf-8") as f:
        f.write(corpus.HELDOUT_HEADER)
        for i, (task, check, want, prompt) in enumerate(held):
            f.write(f"{i + 1}\t{task}\t{check}\t{want}\t{prompt}\n")
    with open(os.path.join(a.out, "eval.txt"), "w", encoding="utf-8") as f:
        f.write(eval_text)
    held = checks.load_heldout(os.path.join(a.out, "heldout.tsv"))
    log(f"corpus: {len(examples)} examples, {len(held)} held-out prompts")

    # 2. tokenizer
    from tokenizers import Tokenizer
    if a.from_dir:
        tk = Tokenizer.from_file(os.path.join(a.from_dir, "tokenizer.json"))
    else:
        def texts():
            for e in examples:
                if "prose" in e:
                    yield e["prose"]
                else:
                    s = corpus.render(e["messages"], False)
                    for sp in SPECIALS:
                        s = s.replace(sp, "\n")
                    yield s
        tk = train_tokenizer(texts(), a.vocab)
    tk.save(os.path.join(a.out, "tokenizer.json"))
    tok = tokenizer_tables(tk)
    vocab = len(tok[0])
    log(f"tokenizer: {vocab} tokens, {len(tok[2])} merges")

    seqs = encode_examples(tk, examples, a.max_len)
    n_tokens = sum(len(s) for s, _ in seqs)
    n_trained = sum(len(s) - f for s, f in seqs)
    record["corpus"] = {"seed": a.seed, "examples": len(examples), "sequences": len(seqs), "tokens": n_tokens,
                        "trained_tokens": n_trained, "heldout": len(held),
                        "kinds": {k: sum(1 for e in examples if (("prose" in e) == (k == "prose")))
                                  for k in ("chat", "prose")}}
    log(f"encoded: {len(seqs)} sequences, {n_tokens} tokens ({n_trained} trained)")

    # 3. model
    cfg = make_config(transformers, a, vocab)
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa", dtype=torch.float32)
    model.to(device)
    a.n_params = sum(p.numel() for p in model.parameters())
    record["architecture"] = {"vocab": vocab, "hidden": a.hidden, "ffn": a.ffn, "layers": a.layers, "heads": a.heads,
                              "kv_heads": a.kv_heads, "head_dim": a.hidden // a.heads, "params": a.n_params,
                              "tied": False, "rope_theta": 1e6, "rms_eps": 1e-6}
    log(f"model: {a.n_params} parameters")
    ids_all, lab_all, lens = to_tensors(torch, seqs, tk.token_to_id("<|endoftext|>"), device)
    rng = np.random.default_rng(a.seed)

    def run(steps, lr_max, warm, qat, limit):
        opt = torch.optim.AdamW(model.parameters(), lr=lr_max, betas=(0.9, 0.98), weight_decay=0.01)
        plan, losses, t0 = [], [], time.time()
        done = steps
        for step in range(steps):
            if time.time() - t0 > limit:
                log(f"time limit: stopped at step {step} of {steps}")
                done = step
                break
            if not plan:
                plan = batches(rng, lens, a.batch)
            chunk = plan.pop()
            L = int(lens[chunk].max())
            b = torch.tensor(chunk, device=device)
            x, y = ids_all[b, :L], lab_all[b, :L]
            lr = lr_max * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                logits = model(input_ids=x).logits
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, vocab), y[:, 1:].reshape(-1),
                                                     ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss) if step % 10 == 0 or step >= steps - 100 else None)
            if step % 500 == 0 or step == steps - 1:
                log(f"{'qat' if qat else 'train'} step {step}/{steps} loss {float(loss):.4f} lr {lr:.2e} "
                    f"{(time.time() - t0) / (step + 1) * 1000:.1f} ms/step")
        last = [x for x in losses[-100:] if x is not None]
        return sum(last) / len(last), time.time() - t0, done

    if a.from_dir:
        model.load_state_dict(torch.load(os.path.join(a.from_dir, "master.pt"), map_location=device))
        prev = json.load(open(os.path.join(a.from_dir, "train_record.json")))
        record["train"] = prev.get("train")
    else:
        loss, secs, done = run(a.steps, a.lr, 300 if not a.smoke else 10, False, a.time_limit)
        record["train"] = {"steps": done, "planned_steps": a.steps, "batch": a.batch, "lr": a.lr, "final_loss": loss, "seconds": secs}
        torch.save(model.state_dict(), os.path.join(a.out, "master_float.pt"))
        log(f"trained: loss {loss:.4f} in {secs:.0f} s")

    # 4. quantization-aware fine-tune
    if a.qat_steps:
        import torch.nn.utils.parametrize as P

        class FQ(torch.nn.Module):
            def __init__(self, f):
                super().__init__()
                self.f = f

            def forward(self, w):
                return self.f(torch, w)
        for name, mod in model.named_modules():
            if isinstance(mod, torch.nn.Linear) and name != "lm_head":
                P.register_parametrization(mod, "weight", FQ(fake_q4_0))
        P.register_parametrization(model.model.embed_tokens, "weight", FQ(fake_q4_0))
        P.register_parametrization(model.lm_head, "weight", FQ(fake_q8_0))
        loss, secs, done = run(a.qat_steps, a.qat_lr, 50, True, a.time_limit / 3)
        for name, mod in list(model.named_modules()):
            if P.is_parametrized(mod):
                P.remove_parametrizations(mod, "weight", leave_parametrized=False)
        record["qat"] = {"steps": done, "planned_steps": a.qat_steps, "lr": a.qat_lr, "final_loss": loss, "seconds": secs}
        log(f"qat: loss {loss:.4f} in {secs:.0f} s")
    torch.save(model.state_dict(), os.path.join(a.out, "master.pt"))

    # 5. export
    tensors = gguf_tensors(model.state_dict(), a.layers)
    meta = {"qinfer.tiny_chat.seed": (G.U32, a.seed), "qinfer.tiny_chat.heldout": (G.U32, len(held))}
    deqs = {}
    for kind in ("q8_0", "q4_0"):
        path = os.path.join(a.out, f"tiny-chat-{kind}.gguf")
        deqs[kind] = export(path, kind, tensors, a, tok, meta)
        log(f"wrote {path}: {os.path.getsize(path)} bytes")

    # 6. goldens
    def chat_ids(msgs):
        return tk.encode(corpus.render(msgs, True), add_special_tokens=False).ids
    seq_texts = {
        "S1": [["user", "What is 17 + 31?"]],
        "S2": [["user", "Write a four-line poem about the river."]],
        "S3": [["user", "Hello!"], ["assistant", corpus.SMALL_TALK[0][1]],
               ["user", "Write a Python function called total that adds two numbers."],
               ["assistant", corpus.code_answer("total", "a, b", ["return a + b"])],
               ["user", "Reverse these words: moon, river, stone, candle."]],
    }
    seqs_g = {k: chat_ids(v) for k, v in seq_texts.items()}
    for k, v in seqs_g.items():
        with open(os.path.join(gold_dir, f"tiny-chat.{k}.ids.txt"), "w") as f:
            f.write("".join(f"{t}\n" for t in v))
    record["golden"] = {}
    for kind in ("q8_0", "q4_0"):
        record["golden"][kind] = golden(torch, transformers, a, vocab, deqs[kind], seqs_g, gold_dir, f"tiny-chat-{kind}")
    log("goldens:", json.dumps(record["golden"]))

    # 7. tokenizer reference ids (llama.cpp's vocab-test layout)
    with open(os.path.join(a.out, "tokenizer.inp"), "w", encoding="utf-8") as f:
        f.write("".join(s + "\n__ggml_vocab_test__\n" for s in TOKENIZER_TESTS))
    with open(os.path.join(a.out, "tokenizer.out"), "w", encoding="utf-8") as f:
        for s in TOKENIZER_TESTS:
            f.write(" ".join(str(i) for i in tk.encode(s, add_special_tokens=False).ids) + "\n")

    # 8. scores with transformers (a first look; qinfer's own come from make test)
    record["hf_scores"] = {}
    answers = {}
    for kind in ("q8_0", "q4_0"):
        r = {}
        for mode, sample in (("greedy", False), ("sampled", True)):
            s, per, ans = hf_score(torch, transformers, a, vocab, deqs[kind], tk, held, device, sample, a.seed)
            r[mode] = {"score": s, "per_task": per}
            answers[f"{kind}-{mode}"] = ans
        r["eval_ppl"], r["eval_tokens"] = perplexity(torch, transformers, a, vocab, deqs[kind], tk, eval_text, device)
        record["hf_scores"][kind] = r
        log(kind, json.dumps(r))
        for mode in ("greedy", "sampled"):
            for x in answers[f"{kind}-{mode}"][:6]:
                log(f"  {kind} {mode} #{x['id']} ok={x['ok']}: {x['answer']!r}")
    with open(os.path.join(a.out, "hf_answers.json"), "w") as f:
        json.dump(answers, f, indent=0)

    record["seconds_total"] = time.time() - t_start
    with open(os.path.join(a.out, "train_record.json"), "w") as f:
        json.dump(record, f, indent=1)
    log(f"done in {record['seconds_total']:.0f} s")


if __name__ == "__main__":
    main()
