#!/usr/bin/env python3
"""Goldens of upstream kvpress KVzapPress, alone and inside DMSPress, on SmolLM2 with generated weights.

Writes tests/fixtures/press_catalogue_goldens/smollm2_135m_kvzap.json and the weights it used,
smollm2_135m_kvzap_mlp.safetensors (upstream's KVzapModel state dict: layers.{l}.0/2.weight/bias;
an MLP with hidden size 4 drawn by torch.manual_seed(0), since the trained nvidia/KVzap-* weights
cannot be downloaded here). Same model, context, question and recording as
make_press_catalogue_goldens.py (whose helpers this imports); run from the repository root:

    /work/cache/kvpress-venv/bin/python scripts/goldens/make_kvzap_goldens.py /work/cache/smollm2-hf-f32

Cases: kvzap at ratios 0.25/0.5/0.75 (a ScorerPress: kept slots gathered) and dms(kvzap) with the
thresholds at the 25/50/75 % quantiles of the scores on this context (masked keys = evicted); with
QUICK=1 (the default: each case takes minutes on a shared 2-core machine) ratio 0.5 and the median.
RATIOS=0.25,0.75 records only those kvzap ratios, DMS=0 skips the dms(kvzap) cases; the cases recorded
replace those with the same spec and ratio in an existing fixture, the others stay (so the fixture can
be completed one case at a time).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import sys
import time

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_press_catalogue_goldens as base  # noqa: E402
from kvpress import DMSPress, KVzapPress  # noqa: E402
from kvpress.presses.kvzap_press import KVzapConfig, KVzapModel  # noqa: E402

FIX = base.ROOT / "tests/fixtures/press_catalogue_goldens"
OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", FIX / "smollm2_135m_kvzap.json"))
WEIGHTS = FIX / "smollm2_135m_kvzap_mlp.safetensors"
HIDDEN = 4
# QUICK=1 (default, this 2-core machine): kvzap at 0.5 and dms(kvzap) at the median only; QUICK=0: all.
QUICK = os.environ.get("QUICK", "1") == "1"
RATIOS = [0.5] if QUICK else base.RATIOS
if os.environ.get("RATIOS"):
    RATIOS = [float(x) for x in os.environ["RATIOS"].split(",")]
WITH_DMS = os.environ.get("DMS", "1") == "1"


def make_press(model, kvzap_model):
    p = KVzapPress(model_type="mlp")
    # What post_init_from_model would download for this model name: ours instead.
    p.kvzap_model_name = f"nvidia/KVzap-mlp-{model.config.name_or_path.split('/')[-1]}"
    p.kvzap_model = kvzap_model
    return p


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2-hf-f32"
    versions = {k: importlib.metadata.version(k) for k in base.PINNED}
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    cfg = model.config
    kvzap = KVzapModel(KVzapConfig(input_dim=cfg.hidden_size, output_dim=cfg.num_key_value_heads,
                                   n_modules=cfg.num_hidden_layers, hidden_dim=HIDDEN)).eval()
    save_file({k: v.contiguous() for k, v in kvzap.state_dict().items()}, str(WEIGHTS))
    ctx, q, _ = base.build_text(tok)
    L = cfg.num_hidden_layers
    with torch.no_grad():
        cache = DynamicCache()
        out = model.model(input_ids=torch.tensor([ctx]), past_key_values=cache, output_hidden_states=True)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(L)]
        scores = torch.cat([kvzap.layers[l](model.model.layers[l].input_layernorm(out.hidden_states[l]))[0].flatten()
                            for l in range(L)])
    quant = [float(scores.quantile(x)) for x in (0.25, 0.5, 0.75)]
    print("score quantiles", quant, flush=True)
    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "context_ids": ctx, "question_ids": q,
              "cases": []}
    spec_w = "kvzap:weights=$FIXTURES/press_catalogue_goldens/" + WEIGHTS.name
    runs = []
    for r in RATIOS:
        def alone(r=r):
            p = make_press(model, kvzap)
            p.compression_ratio = r
            return p, [p], "head"
        runs.append((spec_w, r, alone))
    for t in (quant[1:2] if QUICK else quant) if WITH_DMS else []:
        t = round(t, 4)
        def dms(t=t):
            return DMSPress(make_press(model, kvzap), threshold=t, sliding_window_size=128), [], "none"
        runs.append((f"dms({spec_w}):threshold={base.fmt(t)},window=128", 0.0, dms))
    for spec, r, build in runs:
        t0 = time.time()
        press, scorers, group = build()
        rec = base.run_case(model, ctx, q, press, scorers, group, "prefill", full_keys)
        rec.update({"spec": spec, "compression_ratio": r, "kind": "prefill"})
        result["cases"].append(rec)
        print(spec, r, f"{time.time() - t0:.1f}s", "lengths", rec["cache_lengths"][:3], "ids", rec["ids"][:8], flush=True)
    if OUT.exists():  # keep the cases not recorded in this run
        new = {(c["spec"], c["compression_ratio"]) for c in result["cases"]}
        old = json.loads(OUT.read_text())
        if old["context_ids"] == ctx and old["question_ids"] == q:
            kept = [c for c in old["cases"] if (c["spec"], c["compression_ratio"]) not in new]
            result["cases"] = sorted(kept + result["cases"], key=lambda c: (c["spec"].startswith("dms"), c["compression_ratio"]))
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
