#!/usr/bin/env python3
"""Goldens of upstream kvpress FastKVzipPress on SmolLM2 with generated gates.

Writes tests/fixtures/press_catalogue_goldens/smollm2_135m_fastkvzip.json. The trained gates
(Jang-Hyun/Fast-KVzip on the HF hub) cannot be downloaded here and exist only for larger models, so
the gates are drawn from a counter-based generator that the C++ test re-implements
(tests/model/generated_gates.h): value i of the stream = splitmix64(SEED + (i + 1) * 0x9E3779B97F4A7C15)
mapped to [0, 1) with 53 bits, scaled per tensor (see GATE_TENSORS), rounded to f32. Over 13 MB of
f32 for SmolLM2's 30 layers, so the test regenerates the file instead of a committed fixture. Upstream
loads them through its own loader: `get_gate_weight` (the hub download) is monkeypatched to return
these state dicts under gate id q3_dim16_sink16, so `load_fastkvzip` infers the shapes and the 16
sink keys itself. Same model, context, question and recording as make_press_catalogue_goldens.py
(whose helpers this imports); run from the repository root:

    /work/cache/kvpress-venv/bin/python scripts/goldens/make_fastkvzip_goldens.py /work/cache/smollm2-hf-f32

Cases: fastkvzip at ratios 0.25/0.5/0.75 (global selection over layers x heads x slots) and
layerwise at 0.5. Kept = not masked. band: positions whose gate score lies within TIE_REL of the
global (or per-layer) cut, from upstream's own score tensor.
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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_press_catalogue_goldens as base  # noqa: E402
import kvpress.presses.fastkvzip_press as fkz  # noqa: E402
from kvpress import FastKVzipPress  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache  # noqa: E402

FIX = base.ROOT / "tests/fixtures/press_catalogue_goldens"
OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", FIX / "smollm2_135m_fastkvzip.json"))
SEED = 15
DIM, SINK = 16, 16
# (name, shape as a function of (KV heads, group, hidden size), offset, half-width): value = offset +
# half_width * (2u - 1). Projections ~ 1/sqrt(D) (the RMSNorms rescale anyway), norms around 1,
# sink keys and biases spread enough that the scores do not saturate.
GATE_TENSORS = [
    ("q_proj.weight", lambda kv, g, d: (kv * g * DIM, d), 0.0, 0.08),
    ("q_proj.bias", lambda kv, g, d: (kv * g * DIM,), 0.0, 0.1),
    ("k_proj.weight", lambda kv, g, d: (kv * DIM, d), 0.0, 0.08),
    ("q_norm.weight", lambda kv, g, d: (DIM,), 1.0, 0.2),
    ("k_norm.weight", lambda kv, g, d: (DIM,), 1.0, 0.2),
    ("k_base", lambda kv, g, d: (kv, 1, SINK, DIM), 0.0, 1.5),
    ("b", lambda kv, g, d: (kv, 1, g), 0.0, 0.5),
]
MASK64 = (1 << 64) - 1


def uniform(seed: int, start: int, count: int) -> np.ndarray:
    """Values start..start+count-1 of the counter-based stream, in [0, 1) (float64)."""
    with np.errstate(over="ignore"):
        i = np.arange(start + 1, start + count + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def generated_gates(n_layers, kv, group, hidden):
    """Per-layer state dicts in GATE_TENSORS order, one stream over layers then tensors."""
    out, at = [], 0
    for _ in range(n_layers):
        sd = {}
        for name, shape, offset, half in GATE_TENSORS:
            shp = shape(kv, group, hidden)
            n = int(np.prod(shp))
            v = offset + half * (2.0 * uniform(SEED, at, n) - 1.0)
            at += n
            sd[name] = torch.from_numpy(v.astype(np.float32).reshape(shp))
        out.append(sd)
    return out


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
    G = cfg.num_attention_heads // KV
    gates = generated_gates(L, KV, G, cfg.hidden_size)
    gate_id = f"{model_dir.rstrip('/').split('/')[-1].lower()}/q{G}_dim{DIM}_sink{SINK}.pt"
    fkz.get_gate_weight = lambda name: (gates, gate_id)  # instead of the hub download
    ctx, q, _ = base.build_text(tok)
    n = len(ctx)
    with torch.no_grad():
        cache = DynamicCache()
        model.model(input_ids=torch.tensor([ctx]), past_key_values=cache)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(L)]
    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "context_ids": ctx, "question_ids": q,
              "gates": {"seed": SEED, "dim": DIM, "sink": SINK,
                        "tensors": [[name, offset, half] for name, _, offset, half in GATE_TENSORS]},
              "cases": []}
    spec_g = "fastkvzip:gates=$GENERATED/fastkvzip_gates.safetensors"
    runs = [(spec_g, r, False) for r in base.RATIOS] + [(spec_g + ",layerwise=1", 0.5, True)]
    only = os.environ.get("RATIOS")
    if only:
        keep = {float(x) for x in only.split(",")}
        runs = [x for x in runs if x[1] in keep]
    for spec, r, layerwise in runs:
        t0 = time.time()
        press = FastKVzipPress(compression_ratio=r, layerwise=layerwise)
        rec = base.run_case(model, ctx, q, press, [], "none", "prefill", full_keys)
        sv = press.score_val.double()  # [L, 1, KV, n] after compress_post
        bands = [[[] for _ in range(KV)] for _ in range(L)]
        if layerwise:
            n_pruned = int(KV * n * r)
            for l in range(L):
                for j in base.band_of(sv[l].reshape(-1), KV * n - n_pruned):
                    bands[l][j // n].append(j % n)
        else:
            n_pruned = int(sv.numel() * r)
            for j in base.band_of(sv.reshape(-1), sv.numel() - n_pruned):
                bands[j // (KV * n)][(j // n) % KV].append(j % n)
        rec["band"] = bands
        rec.update({"spec": spec, "compression_ratio": r, "kind": "prefill"})
        result["cases"].append(rec)
        n_band = sum(len(b) for row in bands for b in row)
        print(spec, r, f"{time.time() - t0:.1f}s", "band", n_band, "ids", rec["ids"][:8], flush=True)
    if OUT.exists():  # keep the cases not recorded in this run
        new = {(c["spec"], c["compression_ratio"]) for c in result["cases"]}
        old = json.loads(OUT.read_text())
        if old["context_ids"] == ctx and old["question_ids"] == q:
            result["cases"] = [c for c in old["cases"] if (c["spec"], c["compression_ratio"]) not in new] + \
                result["cases"]
    result["cases"].sort(key=lambda c: ("layerwise" in c["spec"], c["compression_ratio"]))
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
