#!/usr/bin/env python3
"""Goldens of upstream kvpress LUKVPress on SmolLM2 with a generated budget curve.

Writes tests/fixtures/press_catalogue_goldens/smollm2_135m_lukv.json and the curve it used,
smollm2_135m_lukv_curve.safetensors (our format: f32 prune_ratios [99, L, H_kv]; drawn here with
numpy's seed 0 around each row's ratio, since upstream publishes a curve for Llama-3.1-8B only).
Upstream's curve download is replaced by this array. Same model, context, question and recording as
make_press_catalogue_goldens.py; run from the repository root:

    /work/cache/kvpress-venv/bin/python scripts/goldens/make_lukv_goldens.py /work/cache/smollm2-hf-f32

Cases: LUKVPress(ExpectedAttentionPress(epsilon=2e-2), sink=4, window=1) at ratios 0.25/0.5/0.75
and LUKVPress(KnormPress(), sink=8, window=16) at 0.5 (masked keys = evicted).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import sys
import time

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_press_catalogue_goldens as base  # noqa: E402
from kvpress import ExpectedAttentionPress, KnormPress, LUKVPress  # noqa: E402

FIX = base.ROOT / "tests/fixtures/press_catalogue_goldens"
OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", FIX / "smollm2_135m_lukv.json"))
CURVE = FIX / "smollm2_135m_lukv_curve.safetensors"


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2-hf-f32"
    versions = {k: importlib.metadata.version(k) for k in base.PINNED}
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    L, H = model.config.num_hidden_layers, model.config.num_key_value_heads
    rng = np.random.default_rng(0)
    rows = (np.arange(1, 100) / 100.0)[:, None, None]
    curve = np.clip(rows + 0.2 * rng.standard_normal((99, L, H)), 0.0, 0.98).astype(np.float32)
    save_file({"prune_ratios": curve}, str(CURVE))
    ctx, q, _ = base.build_text(tok)
    with torch.no_grad():
        cache = DynamicCache()
        model.model(input_ids=torch.tensor([ctx]), past_key_values=cache)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(L)]
    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "context_ids": ctx, "question_ids": q,
              "cases": []}
    curve_spec = "curve=$FIXTURES/press_catalogue_goldens/" + CURVE.name
    runs = [(f"lukv:{curve_spec}", r, lambda r=r: LUKVPress(ExpectedAttentionPress(epsilon=2e-2), compression_ratio=r))
            for r in base.RATIOS]
    runs.append((f"lukv(knorm):{curve_spec},sink=8,window=16", 0.5,
                 lambda: LUKVPress(KnormPress(), compression_ratio=0.5, sink=8, window=16)))
    for spec, r, build in runs:
        t0 = time.time()
        press = build()
        press._budget_curves = curve  # instead of upstream's download
        rec = base.run_case(model, ctx, q, press, [], "none", "prefill", full_keys)
        rec.update({"spec": spec, "compression_ratio": r, "kind": "prefill"})
        result["cases"].append(rec)
        print(spec, r, f"{time.time() - t0:.1f}s", "ids", rec["ids"][:8], flush=True)
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
