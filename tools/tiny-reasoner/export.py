"""Exports a trained checkpoint as a Hugging Face model directory the engine loads:

    python3 export.py --ckpt runs/tiny/ckpt.pt --out ../../models/tiny-reasoner

writes config.json, model.safetensors (f32, embeddings tied), tokenizer.json (character BPE with
one "x=" merge per fact name and the chat special tokens), tokenizer_config.json (with the chat
template), generation_config.json, and the held-out test set test.jsonl. Checks, before it
returns, that the tokenizer.json (through the `tokenizers` library) encodes like the trainer and
that transformers' LlamaForCausalLM reproduces the trainer's logits.
"""

import argparse
import json
import os

import torch
from safetensors.torch import save_file

import tasks
from model import BOS, EOS, NAMES, SPECIALS, VOCAB, Config, TinyLlama, encode_text

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '<|user|>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>' + message['content'] + eos_token }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def tokenizer_json():
    n_special = len(SPECIALS)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(SPECIALS)
        ],
        "normalizer": None,
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [BOS], "tokens": ["<s>"]}},
        },
        "decoder": {"type": "Fuse"},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": {t: i for i, t in enumerate(VOCAB)},
            "merges": [[n, "="] for n in NAMES],
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--test-count", type=int, default=300)
    args = ap.parse_args()
    ck = torch.load(args.ckpt)
    cfg = Config(**ck["config"])
    targs = ck["args"]
    model = TinyLlama(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    os.makedirs(args.out, exist_ok=True)

    state = {k: v.detach().contiguous().float() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim, "hidden_act": "silu",
        "max_position_embeddings": cfg.max_position_embeddings, "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta, "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": True, "bos_token_id": BOS, "eos_token_id": EOS, "torch_dtype": "float32",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": BOS, "eos_token_id": EOS, "do_sample": False}, f, indent=2)
    with open(os.path.join(args.out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=1, ensure_ascii=False)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
                   "unk_token": "<unk>", "model_max_length": cfg.max_position_embeddings,
                   "chat_template": CHAT_TEMPLATE}, f, indent=2)
    test = tasks.test_set(targs["test_seed"], args.test_count, targs["min_facts"], targs["max_facts"],
                          targs["max_lookups"])
    tasks.write_jsonl(test, os.path.join(args.out, "test.jsonl"))

    # Checks: tokenizer.json == trainer encoding; transformers' Llama == trainer logits.
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = Tokenizer.from_file(os.path.join(args.out, "tokenizer.json"))
    hf_tok = AutoTokenizer.from_pretrained(args.out)
    for p in test[:50]:
        text = tasks.chat_text(p.question) + p.response
        assert tok.encode(text, add_special_tokens=False).ids == encode_text(text), text
        rendered = hf_tok.apply_chat_template([{"role": "user", "content": p.question}], tokenize=False,
                                              add_generation_prompt=True)
        assert rendered == "<s>" + tasks.chat_text(p.question), rendered
    hf = LlamaForCausalLM.from_pretrained(args.out, torch_dtype=torch.float32)
    hf.eval()
    ids = torch.tensor([[BOS] + encode_text(tasks.chat_text(test[0].question) + test[0].response)])
    with torch.no_grad():
        ours, theirs = model(ids), hf(ids).logits
    err = (ours - theirs).abs().max().item()
    print(f"exported to {args.out}: {sum(v.numel() for v in state.values())} params, "
          f"{len(test)} test problems, max |logit diff| vs transformers {err:.2e}")
    assert err < 1e-3


if __name__ == "__main__":
    main()
