#!/usr/bin/env python3
"""Goldens of upstream kvpress KVzipPress on SmolLM2 (tests/fixtures/press_catalogue_goldens/smollm2_135m_kvzip.json).

Same model, context, question and recording as make_press_catalogue_goldens.py (whose helpers this
imports); run from the repository root with the kvpress venv:

    /work/cache/kvpress-venv/bin/python scripts/goldens/make_kvzip_goldens.py /work/cache/smollm2-hf-f32

KVzipPress runs its replay passes when its context manager exits (after the context prefill), on the
cache of that prefill; it masks evicted keys (module.masked_key_indices), so kept = not masked. Also
recorded: the replay prompts upstream builds from the tokenizer and chat template ("replay":
prefix_length, repeat_first, repeat_next, suffix ids), which the test compares with ours, and per case
the tie band at the global cut (positions whose score lies within TIE_REL * scale of it, from
upstream's score_val).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_press_catalogue_goldens as base  # noqa: E402
from kvpress import KVzipPress  # noqa: E402

OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", base.ROOT / "tests/fixtures/press_catalogue_goldens/smollm2_135m_kvzip.json"))


def replay_prompts(tok):
    """Upstream KVzipPress.__call__ + prepare(): the ids it replays around each chunk."""
    dummy = "dummy context"
    sep = "\n" + "#" * len(dummy)
    rendered = tok.apply_chat_template([{"role": "user", "content": dummy + sep}], add_generation_prompt=True,
                                       tokenize=False, enable_thinking=False)
    context, suffix = rendered.split(sep)
    prefix = context.split(dummy)[0]
    enc = lambda s: tok.encode(s, add_special_tokens=False)  # noqa: E731
    return {"prefix_length": len(enc(prefix)), "suffix": enc(suffix),
            "repeat_first": enc("\n\nRepeat the previous context exactly."),
            "repeat_next": enc("\n\nRepeat the part of the previous context exactly, starting with")}


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2-hf-f32"
    versions = {k: importlib.metadata.version(k) for k in base.PINNED}
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    ctx, q, _ = base.build_text(tok)
    L = model.config.num_hidden_layers
    with torch.no_grad():
        cache = DynamicCache()
        model.model(input_ids=torch.tensor([ctx]), past_key_values=cache)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(L)]
    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "context_ids": ctx, "question_ids": q,
              "replay": replay_prompts(tok), "cases": []}
    n = len(ctx)
    for layerwise in (False, True):
        for r in base.RATIOS:
            if layerwise and r != 0.5:
                continue
            t0 = time.time()
            press = KVzipPress(compression_ratio=r, layerwise=layerwise)
            captured = {}
            orig = press.compress_post

            def post(model, orig=orig, press=press):
                orig(model)
                captured["s"] = press.score_val.detach().clone()[:, 0]  # [L, H, n], sinks at max+1
            press.compress_post = post
            rec = base.run_case(model, ctx, q, press, [], "none", "prefill", full_keys)
            s = captured["s"]
            H = s.shape[1]
            bands = [[[] for _ in range(H)] for _ in range(L)]
            if layerwise:
                for l in range(L):
                    flat = s[l].reshape(-1)
                    k = flat.numel() - int(flat.numel() * r)
                    for j in base.band_of(flat, k):
                        bands[l][j // n].append(j % n)
            else:
                flat = s.reshape(-1)
                k = flat.numel() - int(flat.numel() * r)
                for j in base.band_of(flat, k):
                    bands[j // (H * n)][(j // n) % H].append(j % n)
            rec["band"] = bands
            spec = "kvzip:layerwise=1" if layerwise else "kvzip"
            rec.update({"spec": spec, "compression_ratio": r, "kind": "prefill", "max_new_tokens": base.MAX_NEW})
            result["cases"].append(rec)
            print(spec, r, f"{time.time() - t0:.1f}s", "band", sum(len(b) for row in bands for b in row),
                  "ids", rec["ids"][:8], flush=True)
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
