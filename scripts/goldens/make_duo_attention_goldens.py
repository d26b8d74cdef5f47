#!/usr/bin/env python3
"""Goldens of upstream kvpress DuoAttentionPress on SmolLM2: on-the-fly patterns and a patterns file.

Writes tests/fixtures/press_catalogue_goldens/smollm2_135m_duo_attention.json and the patterns file
it feeds to both sides, smollm2_135m_duo_patterns.tsv. Same model, context, question and recording
as make_press_catalogue_goldens.py (whose helpers this imports); run from the repository root:

    /work/cache/kvpress-venv/bin/python scripts/goldens/make_duo_attention_goldens.py /work/cache/smollm2-hf-f32

On the fly (on_the_fly_scoring=True): upstream's duo_attention_on_the_fly draws 50 BookSum chapters
(a dataset download). Here its dataset and tokenizer are monkeypatched so that its only sample is
the golden context itself (the ids our press sees in its prefill), which is what our
`duo_attention` without a patterns file estimates from; its num_samples is 1. Recorded: upstream's
head scores [L, H_kv], the streaming mask and the gap between the scores either side of the cut.
Patterns file: upstream's load_attention_pattern fetches config.json and full_attention_heads.tsv
with requests.get; that is monkeypatched to serve the TSV written here (distinct scores in [0, 1])
and sink_size 64 / recent_size 128. Kept = not masked (streaming heads: masked_key_indices).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import sys
import time

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_press_catalogue_goldens as base  # noqa: E402
import kvpress.presses.duo_attention_press as duo  # noqa: E402
from kvpress import DuoAttentionPress  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, BatchEncoding, DynamicCache  # noqa: E402

FIX = base.ROOT / "tests/fixtures/press_catalogue_goldens"
OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", FIX / "smollm2_135m_duo_attention.json"))
TSV = FIX / "smollm2_135m_duo_patterns.tsv"
FILE_SINK, FILE_RECENT = 64, 128


class _OneSample:
    """Stands in for load_dataset("kmfoda/booksum"): one 'chapter' (its text is never tokenized)."""

    def to_pandas(self):
        return pd.DataFrame({"chapter": ["<the golden context>"]})


class _ContextTokenizer:
    """Stands in for AutoTokenizer: every text tokenizes to the golden context ids."""

    def __init__(self, ids):
        self.ids = ids

    def __call__(self, text, return_tensors=None):
        ids = torch.tensor([self.ids])
        return BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})


class _Response:
    def __init__(self, text=None, obj=None):
        self.text, self.obj = text, obj

    def json(self):
        return self.obj


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2-hf-f32"
    versions = {k: importlib.metadata.version(k) for k in base.PINNED}
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    cfg = model.config
    L, KV = cfg.num_hidden_layers, cfg.num_key_value_heads
    ctx, q, _ = base.build_text(tok)
    with torch.no_grad():
        cache = DynamicCache()
        model.model(input_ids=torch.tensor([ctx]), past_key_values=cache)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(L)]

    # On the fly, with the context as the only sample.
    duo.load_dataset = lambda *a, **k: _OneSample()
    duo.AutoTokenizer = type("T", (), {"from_pretrained": staticmethod(lambda name: _ContextTokenizer(ctx))})
    on_the_fly = duo.duo_attention_on_the_fly.__wrapped__
    duo.duo_attention_on_the_fly = lambda m: on_the_fly(m, num_samples=1)
    scores = on_the_fly(model, num_samples=1)  # [L, KV] float32

    # Patterns file: distinct scores in [0, 1], served to upstream's loader instead of GitHub.
    file_scores = np.random.default_rng(15).permutation(L * KV).reshape(L, KV) / (L * KV - 1)
    TSV.write_text("\n".join("\t".join(f"{x:.6f}" for x in row) for row in file_scores) + "\n")
    duo.PATTERNS_DICT[cfg.name_or_path] = "local"
    served = {"config.json": _Response(obj={"sink_size": FILE_SINK, "recent_size": FILE_RECENT}),
              "full_attention_heads.tsv": _Response(text=TSV.read_text())}
    duo.requests = type("R", (), {"get": staticmethod(lambda url: served[url.rsplit("/", 1)[-1]])})

    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "context_ids": ctx, "question_ids": q,
              "on_the_fly_head_scores": scores.tolist(), "cases": []}
    runs = [("duo_attention", r, True) for r in base.RATIOS]
    runs.append((f"duo_attention:patterns=$FIXTURES/press_catalogue_goldens/{TSV.name},sink={FILE_SINK},"
                 f"recent={FILE_RECENT}", 0.5, False))
    for spec, r, fly in runs:
        t0 = time.time()
        press = DuoAttentionPress(head_compression_ratio=r, on_the_fly_scoring=fly)
        rec = base.run_case(model, ctx, q, press, [], "none", "prefill", full_keys)
        s = np.asarray(scores if fly else np.clip(file_scores, 0, 1), dtype=np.float64).reshape(-1)
        n_streaming = round(s.size * r)
        srt = np.sort(s)
        rec["streaming"] = press.streaming_mask.int().tolist()
        rec["cut_gap"] = float(srt[n_streaming] - srt[n_streaming - 1]) if 0 < n_streaming < s.size else None
        rec.update({"spec": spec, "compression_ratio": r, "kind": "prefill"})
        result["cases"].append(rec)
        print(spec, r, f"{time.time() - t0:.1f}s", "streaming", int(press.streaming_mask.sum()), "gap",
              rec["cut_gap"], "ids", rec["ids"][:8], flush=True)
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
