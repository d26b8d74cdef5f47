#!/usr/bin/env python3
"""GGUF tokenizer goldens: token ids from llama.cpp itself, for every tokenizer.ggml.pre value.

Pinned reference stack (Python 3.11):
  llama-cpp-python==0.3.36   (vendors llama.cpp 0c1e570; built against our own llama.cpp build by
                              scripts/build-llamacpp.sh, whose venv this script runs in)
  gguf==0.17.1, numpy==2.4.6
  tokenizers==0.23.3         (only for the convert goldens, --kvpress)
  jinja2==3.1.6, markupsafe==3.0.4 (the chat golden, rendered as transformers configures jinja2)

Writes tests/fixtures/tokenizer_goldens/gguf/:
  strings.json         the test strings: llama.cpp's 46 conformance strings (ggml-vocab-gpt-2.gguf.inp
                       in ../shared/data) and our own (digits, contractions, scripts, whitespace runs,
                       code, special-token text, ...)
  <vocab>.<pre>.json   for a group of tokenizer.ggml.pre values on which llama.cpp gives identical ids:
                       "names", "plain" (ids of every string, add_special=False, parse_special=False),
                       "special" ({index: ids} where parse_special=True differs), "prefix"/"suffix" (what
                       add_special=True puts around every string; checked on all strings).
                       Vocabularies (vocab-only GGUFs written here, tokenizer.ggml.pre set to each value and no
                       add_bos/add_eos_token keys, so the per-type defaults show): smollm2 = SmolLM2-135M-Instruct's
                       metadata as shipped; llama3 = ../shared/data/tokenizers/llama3/tokenizer.json laid out as
                       llama.cpp's converter does (multi-digit and CJK tokens, which SmolLM2 lacks).
  smollm_real.json     the same for the real SmolLM2 file as shipped (pre "smollm", add_bos_token false).
  spm.<variant>.json   the same for Llama-2's SentencePiece vocabulary (ggml-vocab-llama-spm.gguf) as shipped and
                       with tokenizer.ggml.add_space_prefix false + add_eos_token true ("overrides").
  chat.json            SmolLM2's tokenizer.chat_template (from the GGUF) rendered by jinja2 for a few
                       conversations, with and without the generation prompt.
With --kvpress BUILD/bin/kvpress also (see convert_goldens()), for <name> = smollm (a tiny F32 model written
here carrying SmolLM2's byte-level tokenizer and chat template) and llama_spm (llama-2-tiny-random.gguf, a
SentencePiece-style vocabulary):
  convert_<name>_to_hf.json    ids of Hugging Face `tokenizers` on the tokenizer.json that `kvpress convert --to hf`
                               wrote, and the tokenizer_config.json fields.
  convert_<name>_to_gguf.json  ids of llama.cpp on the GGUF that `kvpress convert --to gguf` wrote from that
                               Hugging Face directory.
  convert_{llama3,qwen3}_hf_to_gguf.json  ids of llama.cpp on the GGUF that `kvpress convert --to gguf` wrote from a
                               tiny fixture model with the shipped Llama-3 / Qwen3 tokenizer.json + tokenizer_config.json.

Usage (from the repository root):
  REF=$(KVPRESS_REF_DIR=/work/cache/ref scripts/build-llamacpp.sh)
  $REF/venv/bin/pip install tokenizers==0.23.3 jinja2==3.1.6 markupsafe==3.0.4
  $REF/venv/bin/python scripts/goldens/make_gguf_tokenizer_goldens.py [--shared DIR] [--kvpress build/bin/kvpress]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter
from llama_cpp import Llama

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOLLM = "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_SPM = "models/llama-2-tiny-random/llama-2-tiny-random.gguf"  # SentencePiece-style vocabulary
LLAMA_SPM_VOCAB = "tokenizers/llama2/ggml-vocab-llama-spm.gguf"

# tokenizer.ggml.pre values llama.cpp (llama-vocab.cpp) accepts for byte-level BPE, in table order.
# Left out: kimi-k2 (a custom splitter), gemma4 / granite-embed-multi-311m / sarvam-moe / whitespace
# (raw UTF-8 BPE, not byte-level).
PRE_TYPES = [
    "default", "llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
    "jina-v5-nano", "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", "glm5", "minicpm5", "jais-2", "deepseek-llm",
    "deepseek-coder", "deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm", "spark2_5", "youtu", "falcon",
    "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2", "gpt-2",
    "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
    "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4", "trillion", "granite-docling",
    "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open", "grok-2",
    "qwen35", "poro-chat", "bloom", "gpt3-finnish", "viking", "tekken", "chameleon", "gpt-4o", "llama4",
    "kanana2", "talkie", "minimax-m2", "granite-embed-multi-97m", "tiny_aya", "cohere2moe", "superbpe",
    "bailingmoe", "bailingmoe2", "llada-moe", "seed-coder", "ufakzeka", "afmoe", "laguna", "exaone-moe",
]


def own_strings():
    s = [
        # digits
        "1234567890", "3.14159 and 2,718,281", "12 345 678 9", "7 77 777 7777 77777 777777 7777777",
        "\u0663\u0664\u0665 \u0661\u0662 and 12\u0663 \u0661\u0662\u0663\u0664", "\uff11\uff12\uff13 fullwidth",
        "phone: +1-800-555-0199", "The year 2024 had 365 days; 1,000,000 people.", "3rd 21st 100km 5.0e-3 x2y3",
        "\u00b2\u00b3 \u2165 \u00bd",
        # contractions
        "I'm, you're, he's, we've, they'll, I'd, don't", "I'M YOU'RE HE'S WE'VE THEY'LL I'D DON'T",
        "'s 'S 'Ll rock'n'roll o'clock", "l'homme d'\u00e9t\u00e9 aujourd'hui",
        # letters, cases, scripts
        "\u00d1and\u00fa a\u00c9 \u00c9cole \u00c9COLE na\u00efve caf\u00e9 \u00c9a HTTPServer iPhone",
        "e\u0301 (combining) vs \u00e9, A\u030a vs \u00c5", "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
        "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u00b5 \ufb01 \u2126 \u212a \u2103",
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\u30ab\u30bf\u30ab\u30ca\u3002",
        "\u4e2d\u6587\u6587\u672c\uff0c\u6807\u70b9\u3002\u201c\u5f15\u53f7\u201d",
        "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8 \u3131\u3134 \u3105\u3106\u3107",
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u06d4\u060c", "\u0939\u093f\u0928\u094d\u0926\u0940\u0964",
        "\u0e44\u0e17\u0e22 \u0ea5\u0eb2\u0ea7 \u1781\u17d2\u1798\u17c2\u179a \u1019\u103c\u1014\u103a\u1019\u102c",
        "\U0001f44b\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1eb\U0001f1f7 \u2764\ufe0f",
        # whitespace
        "a  b   c    d", "\t\ttabs\t", "line1\nline2\r\nline3\n\n\n", "   leading", "trailing   ",
        "\u00a0nbsp\u00a0 \u2003em\u3000ideographic", "x\u0085NEL\u2028LS", "\n \n  \n", " " * 20 + "x",
        "\r\n\r\n", "a\n\n\nb", "  \n\t x",
        # code and punctuation
        "def f(x):\n    return x**2  # square\n", "if (a<=b && c!=d) { x += 1; }",
        "<div class=\"x\">&amp;</div>", "SELECT * FROM t WHERE id=$1;", "$$\\frac{a}{b}$$ ^_^ ~`|",
        "path/to/file.py:12:34", "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
        "Hello!!! What?? ... \u2026", "\u00abquotes\u00bb \u201csmart\u201d \u2018single\u2019 \u2014 dash",
        "(parenthesis) [brackets] {braces}", "#hashtag @mention http://example.com/a?b=c&d=e",
        # special-token text
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>", "text<|im_end|>more",
        "<|im_start|><|im_start|>", "< |im_start| >", "<repo_name>x<file_sep>y", " <|im_end|> ",
        "<sentinel:12> IMGIMGABCZ IMGIMGAAAAZ",
    ]
    s.append(" ".join(s[:12]) + " " + s[30] + " " + s[45])  # a long mixed string
    return s


def read_inp(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parts = text.split("\n__ggml_vocab_test__\n")
    return parts[:-1]


def copy_field(w, reader, key, value=None):
    """Copies one metadata key from `reader` (or writes `value` with the field's type)."""
    f = reader.fields[key]
    t = f.types[0]
    v = f.contents() if value is None else value
    if t == GGUFValueType.ARRAY:
        w.add_key_value(key, v, t, sub_type=f.types[-1])
    else:
        w.add_key_value(key, v, t)


def write_vocab_gguf(reader, path, pre, drop=("tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token")):
    """A vocab-only GGUF: every metadata key of `reader` but tokenizer.ggml.pre = `pre`, no tensors."""
    arch = reader.fields["general.architecture"].contents()
    w = GGUFWriter(path, arch)
    for key in reader.fields:
        if key.startswith("GGUF.") or key == "general.architecture" or key in drop:
            continue
        copy_field(w, reader, key, pre if key == "tokenizer.ggml.pre" else None)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tokenize_all(model_path, strings):
    llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
    plain, special = [], {}
    # What add_special puts around the ids, found on a plain string, then checked on every string.
    ref = llm.tokenize(b"Hello world", add_bos=False, special=True)
    full = llm.tokenize(b"Hello world", add_bos=True, special=True)
    start = next(k for k in range(len(full) - len(ref) + 1) if full[k:k + len(ref)] == ref)
    prefix, suffix = full[:start], full[start + len(ref):]
    for i, s in enumerate(strings):
        b = s.encode("utf-8")
        p = llm.tokenize(b, add_bos=False, special=False)
        sp = llm.tokenize(b, add_bos=False, special=True)
        plain.append(p)
        if sp != p:
            special[str(i)] = sp
        assert llm.tokenize(b, add_bos=True, special=True) == prefix + sp + suffix, s
    del llm
    return {"plain": plain, "special": special, "prefix": prefix, "suffix": suffix}


def llama3_tokenizer_fields(shared):
    """Llama-3's tokenizer.json as GGUF tokenizer keys, the way llama.cpp's converter lays them out: tokens by id,
    added tokens special -> control (3) else user-defined (4), merges "left right", BOS/EOS ids. A second
    vocabulary for the pre-type goldens: unlike SmolLM2's it has multi-digit and CJK tokens."""
    with open(os.path.join(shared, "tokenizers/llama3/tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    n = max(max(tj["model"]["vocab"].values()), max(a["id"] for a in tj["added_tokens"])) + 1
    tokens, types = [""] * n, [1] * n
    for tok, i in tj["model"]["vocab"].items():
        tokens[i] = tok
    for a in tj["added_tokens"]:
        tokens[a["id"]] = a["content"]
        types[a["id"]] = 3 if a["special"] else 4
    merges = [m if isinstance(m, str) else m[0] + " " + m[1] for m in tj["model"]["merges"]]
    return tokens, types, merges


def write_vocab_gguf(reader, path, pre, vocab):
    """A vocab-only GGUF: the SmolLM2 file's metadata (or, for vocab "llama3", its non-tokenizer keys and
    Llama-3's vocabulary) with tokenizer.ggml.pre = `pre` and no add_bos/add_eos_token keys."""
    arch = reader.fields["general.architecture"].contents()
    w = GGUFWriter(path, arch)
    for key in reader.fields:
        if key.startswith("GGUF.") or key == "general.architecture" or key in (
                "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"):
            continue
        if vocab is not None and key.startswith("tokenizer."):
            continue
        copy_field(w, reader, key, pre if key == "tokenizer.ggml.pre" else None)
    if vocab is not None:
        tokens, types, merges = vocab
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(128000)
        w.add_eos_token_id(128001)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def pretype_goldens(shared, out, strings):
    reader = GGUFReader(os.path.join(shared, SMOLLM))
    tmp = tempfile.mkdtemp(prefix="gguf-pre-")
    try:
        for vocab_name, vocab in (("smollm2", None), ("llama3", llama3_tokenizer_fields(shared))):
            groups = []  # [names, result]
            for pre in PRE_TYPES:
                path = os.path.join(tmp, "vocab.gguf")
                write_vocab_gguf(reader, path, pre, vocab)
                res = tokenize_all(path, strings)
                for g in groups:
                    if g[1] == res:
                        g[0].append(pre)
                        break
                else:
                    groups.append([[pre], res])
                print(f"{vocab_name} {pre}: {len(groups)} groups so far", file=sys.stderr)
            for names, res in groups:
                doc = {"source": f"llama.cpp via llama-cpp-python 0.3.36, {vocab_name} vocabulary, "
                                 "tokenizer.ggml.pre = each name, no add_bos/add_eos keys",
                       "vocab": vocab_name, "names": names, **res}
                dump(os.path.join(out, f"{vocab_name}.{names[0]}.json"), doc)
    finally:
        shutil.rmtree(tmp)
    real = tokenize_all(os.path.join(shared, SMOLLM), strings)
    dump(os.path.join(out, "smollm_real.json"),
         {"source": "llama.cpp via llama-cpp-python 0.3.36 on " + SMOLLM + " as shipped", "names": ["smollm"], **real})


def spm_goldens(shared, out, strings):
    """spm.<variant>.json: llama.cpp on Llama-2's SentencePiece vocabulary as shipped, and with
    tokenizer.ggml.add_space_prefix false and add_eos_token true (the keys llama.cpp honours for it)."""
    reader = GGUFReader(os.path.join(shared, LLAMA_SPM_VOCAB))
    tmp = tempfile.mkdtemp(prefix="gguf-spm-")
    try:
        for variant, overrides in (("as_shipped", {}),
                                   ("no_space_prefix_eos", {"tokenizer.ggml.add_space_prefix": False,
                                                            "tokenizer.ggml.add_eos_token": True})):
            path = os.path.join(tmp, "vocab.gguf")
            w = GGUFWriter(path, reader.fields["general.architecture"].contents())
            for key in reader.fields:
                if not key.startswith("GGUF.") and key != "general.architecture" and key not in overrides:
                    copy_field(w, reader, key)
            for key, value in overrides.items():
                w.add_bool(key, value)
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            dump(os.path.join(out, f"spm.{variant}.json"),
                 {"source": f"llama.cpp via llama-cpp-python 0.3.36 on {LLAMA_SPM_VOCAB} with these overrides",
                  "overrides": overrides, **tokenize_all(path, strings)})
    finally:
        shutil.rmtree(tmp)


def tiny_model_gguf(reader, path):
    """A 1-layer F32 llama model (random weights) carrying the reader's tokenizer + chat template."""
    rng = np.random.default_rng(0)
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].contents())
    d, ff, heads = 32, 64, 2
    w = GGUFWriter(path, "llama")
    w.add_name("kvpress tokenizer-convert fixture")
    w.add_context_length(256)
    w.add_embedding_length(d)
    w.add_block_count(1)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(d // heads)
    w.add_file_type(0)
    for key in reader.fields:
        if key.startswith("tokenizer."):
            copy_field(w, reader, key)

    def t(name, *shape):
        w.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    t("token_embd.weight", n_vocab, d)
    t("blk.0.attn_norm.weight", d)
    t("blk.0.attn_q.weight", d, d)
    t("blk.0.attn_k.weight", d, d)
    t("blk.0.attn_v.weight", d, d)
    t("blk.0.attn_output.weight", d, d)
    t("blk.0.ffn_norm.weight", d)
    t("blk.0.ffn_gate.weight", ff, d)
    t("blk.0.ffn_up.weight", ff, d)
    t("blk.0.ffn_down.weight", d, ff)
    t("output_norm.weight", d)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def convert_goldens(shared, out, strings, kvpress):
    """convert_<name>_to_hf.json / convert_<name>_to_gguf.json for a byte-level vocabulary (SmolLM2's,
    carried by a tiny model written here) and a SentencePiece-style one (llama-2-tiny-random.gguf)."""
    from tokenizers import Tokenizer
    tmp = tempfile.mkdtemp(prefix="gguf-convert-")
    try:
        smollm = os.path.join(tmp, "tiny.gguf")
        tiny_model_gguf(GGUFReader(os.path.join(shared, SMOLLM)), smollm)
        for name, src in (("smollm", smollm), ("llama_spm", os.path.join(shared, LLAMA_SPM))):
            hf = os.path.join(tmp, name + "-hf")
            subprocess.run([kvpress, "convert", "--model", src, "--to", "hf", "--out", hf], check=True)
            tok = Tokenizer.from_file(os.path.join(hf, "tokenizer.json"))
            with open(os.path.join(hf, "tokenizer_config.json"), encoding="utf-8") as f:
                cfg = json.load(f)
            plain = [tok.encode(s, add_special_tokens=False).ids for s in strings]
            with_special = [tok.encode(s, add_special_tokens=True).ids for s in strings]
            dump(os.path.join(out, f"convert_{name}_to_hf.json"),
                 {"source": "Hugging Face tokenizers 0.23.3 on the tokenizer.json that `kvpress convert --to hf` wrote "
                            f"from {os.path.basename(src)}",
                  "plain": plain, "add_special": with_special,
                  "config": {k: cfg.get(k) for k in ("bos_token", "eos_token", "unk_token", "pad_token",
                                                     "add_bos_token", "add_eos_token", "chat_template")}})
            back = os.path.join(tmp, name + "-back.gguf")
            subprocess.run([kvpress, "convert", "--model", hf, "--to", "gguf", "--out", back], check=True)
            res = tokenize_all(back, strings)
            dump(os.path.join(out, f"convert_{name}_to_gguf.json"),
                 {"source": "llama.cpp via llama-cpp-python 0.3.36 on the GGUF that `kvpress convert --to gguf` wrote "
                            "from that Hugging Face directory", **res})
    finally:
        shutil.rmtree(tmp)


def real_hf_to_gguf_goldens(shared, out, strings, kvpress):
    """convert_<name>_hf_to_gguf.json: llama.cpp's ids on the GGUF that `kvpress convert --to gguf` writes for a
    Hugging Face directory holding a tiny fixture model and the shipped Llama-3 / Qwen3 tokenizer files."""
    tmp = tempfile.mkdtemp(prefix="gguf-hf-")
    try:
        for name, model in (("llama3", "llama_mha_tied_f32"), ("qwen3", "qwen3_qknorm_f32")):
            hf = os.path.join(tmp, name)
            shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "models", model), hf)
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(shared, "tokenizers", name, f), hf)
            gguf = os.path.join(tmp, name + ".gguf")
            subprocess.run([kvpress, "convert", "--model", hf, "--to", "gguf", "--out", gguf], check=True)
            res = tokenize_all(gguf, strings)
            dump(os.path.join(out, f"convert_{name}_hf_to_gguf.json"),
                 {"source": "llama.cpp via llama-cpp-python 0.3.36 on the GGUF that `kvpress convert --to gguf` wrote "
                            f"from tests/fixtures/models/{model} + ../shared/data/tokenizers/{name} tokenizer files",
                  **res})
    finally:
        shutil.rmtree(tmp)


def chat_golden(shared, out):
    """SmolLM2's GGUF chat template rendered as transformers renders templates (jinja2 sandbox,
    trim_blocks, lstrip_blocks); this template needs no other globals."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    reader = GGUFReader(os.path.join(shared, SMOLLM))
    source = reader.fields["tokenizer.chat_template"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    special = {"bos_token": tokens[reader.fields["tokenizer.ggml.bos_token_id"].contents()],
               "eos_token": tokens[reader.fields["tokenizer.ggml.eos_token_id"].contents()]}
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    conversations = [
        [{"role": "user", "content": "What is 12*7?"}],
        [{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": "What is 12*7?"}],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
         {"role": "user", "content": "Tell me a joke about <|im_end|> tokens."}],
    ]
    cases = []
    for messages in conversations:
        for agp in (True, False):
            text = env.from_string(source).render(messages=messages, add_generation_prompt=agp, **special)
            cases.append({"messages": messages, "add_generation_prompt": agp, "expected": text})
    dump(os.path.join(out, "chat.json"), {"source": "jinja2 3.1.6 on " + SMOLLM + " tokenizer.chat_template",
                                          "cases": cases})


def dump(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tokenizer_goldens", "gguf"))
    ap.add_argument("--kvpress", help="build/bin/kvpress: also write the convert goldens")
    ap.add_argument("--skip-pretypes", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    strings = read_inp(os.path.join(a.shared, "tokenizers/llama.cpp-vocab-tests/ggml-vocab-gpt-2.gguf.inp"))
    strings += own_strings()
    dump(os.path.join(a.out, "strings.json"), strings)
    chat_golden(a.shared, a.out)
    spm_goldens(a.shared, a.out, strings)
    if not a.skip_pretypes:
        pretype_goldens(a.shared, a.out, strings)
    if a.kvpress:
        convert_goldens(a.shared, a.out, strings, os.path.abspath(a.kvpress))
        real_hf_to_gguf_goldens(a.shared, a.out, strings, os.path.abspath(a.kvpress))


if __name__ == "__main__":
    main()
