#!/usr/bin/env python3
"""Writes a random-weight Llama GGUF of the 0.35B shape for side-by-side speed runs.

Issue 12's reference model is a 349 M-parameter Llama (hidden 1024, 24 layers, 16 query heads, 8 KV
heads, feed-forward 2816: `kvpress bench --random 0.35b`). llama.cpp needs a GGUF with a tokenizer, so
this script takes the tokenizer metadata of an existing GGUF (e.g. SmolLM2-135M-Instruct's, 49,152 tokens)
and writes random N(0, 0.02) matrices of that shape around it, with tied embeddings (333 M parameters
with this vocabulary). The weights are meaningless: the file is only for timing both engines on the same
bytes. Quantize it with llama-quantize (scripts/build-llamacpp.sh builds it) for q8_0 / q4_0 / q4_k.

usage: make_random_gguf.py --tokenizer-from SmolLM2-135M-Instruct.F16.gguf --out random-0.35b.bf16.gguf
       [--dtype bf16|f16|f32] [--seed 0]

Needs the `gguf` and `numpy` PyPI packages (pin: gguf==0.17.1 as scripts/goldens use), never a runtime
dependency of kvpress.
"""
import argparse

import numpy as np
import gguf

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN = 1024, 24, 16, 8, 2816
HEAD_DIM = HIDDEN // HEADS

TOKENIZER_KEYS = [
    "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_space_prefix",
]


def field_value(field):
    """The Python value of a GGUFReader field: a scalar, a string, or a list of either."""
    t = field.types[0]
    if t == gguf.GGUFValueType.ARRAY:
        inner = field.types[1]
        if inner == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        return [field.parts[i][0].item() for i in field.data]
    if t == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    return field.parts[field.data[0]][0].item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer-from", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f16", "f32"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    src = gguf.GGUFReader(args.tokenizer_from)
    tokens = field_value(src.fields["tokenizer.ggml.tokens"])
    vocab = len(tokens)

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name("random-llama-0.35b")
    w.add_block_count(LAYERS)
    w.add_context_length(32768)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_rope_dimension_count(HEAD_DIM)
    ftype = {"bf16": gguf.LlamaFileType.MOSTLY_BF16, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "f32": gguf.LlamaFileType.ALL_F32}[args.dtype]
    w.add_file_type(ftype)
    for key in TOKENIZER_KEYS:
        if key not in src.fields:
            continue
        f = src.fields[key]
        value = field_value(f)
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_array(key, value)
        elif vt == gguf.GGUFValueType.STRING:
            w.add_string(key, value)
        elif vt == gguf.GGUFValueType.BOOL:
            w.add_bool(key, value)
        else:
            w.add_uint32(key, int(value))

    rng = np.random.default_rng(args.seed)
    qtype = {"bf16": gguf.GGMLQuantizationType.BF16, "f16": gguf.GGMLQuantizationType.F16,
             "f32": gguf.GGMLQuantizationType.F32}[args.dtype]

    def matrix(name, rows, cols, std=0.02):
        x = rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(std)
        if qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, x.astype(np.float16))
        elif qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, x)
        else:
            w.add_tensor(name, gguf.quants.quantize(x, qtype), raw_dtype=qtype)

    def vector(name, n):
        w.add_tensor(name, np.ones(n, dtype=np.float32))

    matrix("token_embd.weight", vocab, HIDDEN, std=1.0)
    vector("output_norm.weight", HIDDEN)
    for l in range(LAYERS):
        p = f"blk.{l}."
        vector(p + "attn_norm.weight", HIDDEN)
        vector(p + "ffn_norm.weight", HIDDEN)
        matrix(p + "attn_q.weight", HEADS * HEAD_DIM, HIDDEN)
        matrix(p + "attn_k.weight", KV_HEADS * HEAD_DIM, HIDDEN)
        matrix(p + "attn_v.weight", KV_HEADS * HEAD_DIM, HIDDEN)
        matrix(p + "attn_output.weight", HIDDEN, HEADS * HEAD_DIM)
        matrix(p + "ffn_gate.weight", FFN, HIDDEN)
        matrix(p + "ffn_up.weight", FFN, HIDDEN)
        matrix(p + "ffn_down.weight", HIDDEN, FFN)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    n_params = vocab * HIDDEN + LAYERS * (2 * HIDDEN * HIDDEN + 2 * HIDDEN * KV_HEADS * HEAD_DIM + 3 * HIDDEN * FFN)
    print(f"wrote {args.out}: {n_params / 1e6:.0f} M parameters ({args.dtype}, vocabulary {vocab}, tied embeddings)")


if __name__ == "__main__":
    main()
