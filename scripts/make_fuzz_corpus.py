#!/usr/bin/env python3
"""Writes the small seed corpora of the libFuzzer targets into fuzz/corpus/<target>/ (stdlib only).

Tiny models (hidden 8, one layer) in every file format, tokenizers, the Jinja test cases and the bundled model's chat template,
dataset rows, press specs, score/result files and sweep files. Run from the repository root;
`kvpress` must be built (build/bin/kvpress) for the GGUF seeds (it converts the tiny HF model).
"""
import json
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
KVPRESS = os.path.join(ROOT, "build", "bin", "kvpress")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def tiny_tensors(d=8, f=16, v=16, layers=1, heads=2, kv=1):
    hd = d // heads
    shapes = {"model.embed_tokens.weight": [v, d], "model.norm.weight": [d], "lm_head.weight": [v, d]}
    for l in range(layers):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": [d], p + "post_attention_layernorm.weight": [d],
                       p + "self_attn.q_proj.weight": [heads * hd, d], p + "self_attn.k_proj.weight": [kv * hd, d],
                       p + "self_attn.v_proj.weight": [kv * hd, d], p + "self_attn.o_proj.weight": [d, heads * hd],
                       p + "mlp.gate_proj.weight": [f, d], p + "mlp.up_proj.weight": [f, d],
                       p + "mlp.down_proj.weight": [d, f]})
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": d,
              "intermediate_size": f, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv, "vocab_size": v, "max_position_embeddings": 64,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
              "bos_token_id": 1, "eos_token_id": 2}
    return config, shapes


def safetensors(shapes, dtype="F32"):
    size = 4 if dtype == "F32" else 2
    header, blobs, off = {}, [], 0
    for i, (name, shape) in enumerate(sorted(shapes.items())):
        n = 1
        for s in shape:
            n *= s
        vals = [((j * 7 + i) % 11 - 5) / 10.0 for j in range(n)]
        blob = struct.pack(f"<{n}f", *vals)
        if dtype == "BF16":
            blob = b"".join(blob[k + 2:k + 4] for k in range(0, len(blob), 4))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n * size]}
        blobs.append(blob)
        off += n * size
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def llama2c(d=8, f=16, v=16, layers=1, heads=2, kv=1, seq=32, shared=True):
    hd = d // heads
    vocab = v if shared else -v
    head = struct.pack("<7i", d, f, layers, heads, kv, vocab, seq)
    n = v * d + layers * (d + d * d + 2 * d * kv * hd + d * d + d + 3 * d * f) + d + seq * hd
    n += 0 if shared else v * d
    return head + struct.pack(f"<{n}f", *[((j % 13) - 6) / 10.0 for j in range(n)])


def tokenizer_bin(tokens):
    out = struct.pack("<i", max(len(t) for t in tokens))
    for i, t in enumerate(tokens):
        b = t.encode()
        out += struct.pack("<fi", float(-i), len(b)) + b
    return out


def main():
    config, shapes = tiny_tensors()
    hf_dir = os.path.join(OUT, "..", "tiny-hf")
    for dtype in ("F32", "BF16"):
        st = safetensors(shapes, dtype)
        put("fuzz_safetensors", f"llama_{dtype.lower()}", json.dumps(config).encode() + b"\n----\n" + st)
    qwen = dict(config, architectures=["Qwen3ForCausalLM"], model_type="qwen3", head_dim=4)
    put("fuzz_safetensors", "qwen3_config_only", json.dumps(qwen).encode() + b"\n----\n")
    # GGUF seeds: the tiny HF model converted by kvpress (f32 and q8_0 need cols % 32: f32/f16 only).
    os.makedirs(hf_dir, exist_ok=True)
    with open(os.path.join(hf_dir, "config.json"), "w") as fh:
        json.dump(config, fh)
    with open(os.path.join(hf_dir, "model.safetensors"), "wb") as fh:
        fh.write(safetensors(shapes))
    for dtype in ("f32", "f16"):
        target = os.path.join(OUT, f"tiny_{dtype}.gguf")
        r = subprocess.run([KVPRESS, "convert", "--model", hf_dir, "--to", "gguf", "--out", target, "--dtype", dtype],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"kvpress convert failed: {r.stderr}")
        with open(target, "rb") as fh:
            put("fuzz_gguf", f"tiny_{dtype}", fh.read())
        os.remove(target)
    for name in os.listdir(hf_dir):
        os.remove(os.path.join(hf_dir, name))
    os.rmdir(hf_dir)
    put("fuzz_llama2c", "shared", llama2c())
    put("fuzz_llama2c", "separate", llama2c(shared=False))
    chars = ["<unk>", "<s>", "</s>"] + [chr(c) for c in range(ord("a"), ord("n"))]
    put("fuzz_tokenizer_bin", "letters", bytes([len(chars) - 1]) + tokenizer_bin(chars))
    with open(os.path.join(ROOT, "models", "tiny-reasoner", "tokenizer.json"), "rb") as fh:
        put("fuzz_tokenizer_json", "tiny_reasoner", fh.read())
    byte_level = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120a": 4},
                            "merges": ["a b", "\u0120 a"], "byte_fallback": False},
                  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                      {"type": "Split", "pattern": {"Regex": "\\s?\\p{L}+|\\s?\\p{N}"}, "behavior": "Isolated"},
                      {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]},
                  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Replace",
                                 "pattern": {"String": "x"}, "content": "y"}]},
                  "decoder": {"type": "ByteLevel"},
                  "added_tokens": [{"id": 5, "content": "<|end|>", "special": True, "lstrip": False,
                                    "rstrip": False, "single_word": False, "normalized": False}],
                  "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A"}}],
                                     "special_tokens": {}}}
    put("fuzz_tokenizer_json", "byte_level", json.dumps(byte_level))
    with open(os.path.join(ROOT, "models", "tiny-reasoner", "tokenizer_config.json")) as fh:
        put("fuzz_jinja", "tiny_reasoner", json.load(fh)["chat_template"])
    cases = json.load(open(os.path.join(ROOT, "tests", "fixtures", "template_goldens", "jinja_cases.json")))["cases"]
    for i, c in enumerate(cases[:40]):
        src = c.get("template") if isinstance(c, dict) else None
        if isinstance(src, str):
            put("fuzz_jinja", f"case_{i}", src)
    with open(os.path.join(ROOT, "models", "tiny-reasoner", "test.jsonl")) as fh:
        lines = fh.readlines()[:5]
    put("fuzz_dataset_rows", "jsonl", "".join(lines))
    put("fuzz_dataset_rows", "array", json.dumps([json.loads(l) for l in lines]))
    put("fuzz_dataset_rows", "gsm8k", json.dumps({"question": "1+1?", "answer": "so #### 2"}) + "\n")
    put("fuzz_dataset_rows", "choices", json.dumps({"question": "Q", "choices": {"label": ["A", "B"], "text": ["x", "y"]},
                                                     "answerKey": "A"}) + "\n")
    for i, spec in enumerate(["knorm", "snapkv:window=8,kernel=3", "rkv:lambda=0.1,window=4,compat=fork",
                              "rkv_lsh:bits=4,seed=3", "lagkv:n_sink=2,lag=4,cross_scoring=1", "random:seed=5",
                              "streaming_llm:n_sink=2", "h2o", "tova", "keydiff", "full", "snapkv_d:window=2"]):
        put("fuzz_press_spec", f"spec_{i}", spec)
    score = {"dataset": "gsm8k", "model_name": "m", "press_name": "knorm", "press_spec": "knorm", "cache_budget": 64,
             "accuracy": 0.5, "avg_score": 0.5, "num_samples": 2, "avg_output_tokens": 12.5,
             "press_ms_per_token": 0.01, "max_kv_bytes_peak": 1024, "protocol": "chat", "scoring": "normalized",
             "max_new_tokens": 32, "random_seed": 42, "result_file": "r.jsonl"}
    put("fuzz_score_file", "score", json.dumps(score))
    row = {"sample_id": "s0", "response": "\\boxed{2}", "gt_answer": "2", "extracted_answer": "2",
           "correct": True, "score": 1.0, "gold_answers": ["2"], "output_token_count": 5}
    put("fuzz_score_file", "rows", json.dumps(row) + "\n" + json.dumps(dict(row, sample_id="s1")) + "\n")
    with open(os.path.join(ROOT, "scripts", "slurm", "paper_grid.yaml")) as fh:
        put("fuzz_sweep_yaml", "paper_grid", fh.read())
    put("fuzz_sweep_yaml", "flow", "models: [a, b]\ndatasets: [gsm8k, math500=rows.jsonl]\npresses: [full, knorm]\n"
                                   "budgets: [16, 32]\nnum_samples: 4\nfraction: 0.5\nseed: 3\nthreads: 1\n")
    put("fuzz_sweep_yaml", "json", json.dumps({"presses": ["h2o"], "datasets": ["jsonl"], "budgets": 8,
                                               "protocol": "paper", "kv_dtype": "bf16", "batch_size": 2}))


if __name__ == "__main__":
    main()
