#!/usr/bin/env python3
"""Kept-position goldens of the upstream kvpress presses (ratio mode, after prefill).

Run from the repository root with the kvpress venv (see scripts/goldens/README.md):

    /opt/kvpress-venv/bin/python scripts/goldens/make_press_goldens.py

For each tiny fixture model (tests/fixtures/models/{llama_gqa_rope3_f32, qwen3_qknorm_f32,
mistral_gqa_f32}) it prefills one fixed 300-token prompt (ids, no tokenizer) with each upstream
press — KnormPress, StreamingLLMPress, SnapKVPress, TOVAPress, ObservedAttentionPress,
KeyDiffPress, LagKVPress — at compression_ratio 0.5 and 0.25, and records which absolute
positions every (layer, KV head) keeps. Writes tests/fixtures/press_goldens/<model>.json.

How kept positions are found: the press's `compress` is wrapped to capture the layer's keys before
and after pruning; every kept key row is matched bit-exactly against the uncompressed keys
(post-RoPE keys of different positions never coincide), which gives its position. The press's
`score` is wrapped too: the top-n_kept of the captured scores must select the same positions
(checked), and the scores give the near-tie information stored with every head (see "ties").

Everything is float32 on the CPU with one thread and deterministic algorithms;
attn_implementation="eager" so that ObservedAttentionPress gets attention weights (SnapKV and TOVA
then use the eager weights too). SnapKV and TOVA are also run with "sdpa" attention (upstream's
window-query recomputation path, with Qwen3's q-norm); the result must keep the same positions outside
near-tie bands (recorded as sdpa_agrees_outside_bands; --skip-sdpa leaves that out).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, DynamicCache

from kvpress import (
    KeyDiffPress,
    KnormPress,
    LagKVPress,
    ObservedAttentionPress,
    SnapKVPress,
    StreamingLLMPress,
    TOVAPress,
)

MODELS = ["llama_gqa_rope3_f32", "qwen3_qknorm_f32", "mistral_gqa_f32"]
# The versions the committed goldens were made with (requirements-kvpress.txt has the full list).
PINNED = {"kvpress": "0.5.5", "transformers": "5.2.0", "torch": "2.15.0"}
PROMPT_SEED = 4242
PROMPT_LEN = 300
VOCAB = 512
RATIOS = [0.5, 0.25]
# Relative width of a near-tie band: two scores closer than TIE_REL * (largest finite |score| of
# the head) may be ordered differently by two correct float32 implementations.
TIE_REL = 1e-5

# (our engine's --press spec, upstream class, upstream constructor arguments)
PRESSES = [
    ("knorm", KnormPress, {}),
    ("streaming_llm", StreamingLLMPress, {"n_sink": 4}),
    ("snapkv", SnapKVPress, {"window_size": 64, "kernel_size": 5}),
    ("snapkv:window=16,kernel=3", SnapKVPress, {"window_size": 16, "kernel_size": 3}),
    ("tova", TOVAPress, {}),
    ("observed_attention", ObservedAttentionPress, {}),
    ("keydiff", KeyDiffPress, {}),
    ("lagkv", LagKVPress, {"n_sink": 4, "lag_size": 128}),
    ("lagkv:lag=64", LagKVPress, {"n_sink": 4, "lag_size": 64}),
    ("lagkv:lag=64,cross_scoring=1", LagKVPress, {"n_sink": 4, "lag_size": 64, "cross_scoring": True}),
]

NOTE = (
    "Upstream kvpress ratio-mode pruning after one prefill forward of prompt_ids (positions "
    "0..n-1). n_kept = max(1, int(n * (1 - compression_ratio))) per (layer, KV head). "
    "kept[layer][kv_head] is a string of n characters, '1' where that position is kept. "
    "ties[layer][kv_head] = {margin: (s_k - s_k+1) / scale with s sorted descending and scale = "
    "max |s| over the scores below the head's maximum (the max+1 padding of protected slots is "
    "left out), band: positions whose score lies within TIE_REL*scale of the cut when "
    "margin <= TIE_REL, else []}. Inside a band either choice is correct (equal or near-equal "
    "scores; upstream torch.topk picks arbitrarily among them); outside it the kept set is exact."
)


def log(*a):
    print(*a, flush=True)


def prompt_ids():
    rng = np.random.default_rng(PROMPT_SEED)
    ids = [int(x) for x in rng.integers(3, VOCAB, size=PROMPT_LEN)]
    ids[0] = 1  # BOS
    return ids


def load(model_dir, attn):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation=attn)
    model.eval()
    return model


def positions_of(keys_in, keys_out):
    """Index in keys_in [n, d] of every row of keys_out [k, d] (bit-exact match)."""
    eq = (keys_out[:, None, :] == keys_in[None, :, :]).all(-1)  # [k, n]
    hits = eq.sum(1)
    if not bool((hits == 1).all()):
        raise RuntimeError(f"kept keys do not match exactly one cached key: {hits.tolist()}")
    return eq.float().argmax(1).tolist()


def tie_info(scores, n_kept):
    """Near-tie band of one head's scores [n] (float32) at the cut n_kept.

    scale = largest |score| among the scores below the head's maximum, so that the value upstream
    pads protected slots with (max + 1: SnapKV's window, TOVA's last token, LagKV's sinks and tail)
    does not widen the band.
    """
    s = s_all = scores.double()
    s = s[torch.isfinite(s)]
    below = s[s < s.max()] if s.numel() else s
    scale = float(below.abs().max()) if below.numel() else 0.0
    if scale == 0.0:
        scale = 1.0
    srt = torch.sort(s_all, descending=True).values
    s_in, s_out = float(srt[n_kept - 1]), float(srt[n_kept])
    margin = (s_in - s_out) / scale
    band = []
    if margin <= TIE_REL:
        tol = TIE_REL * scale
        band = [j for j in range(s_all.numel()) if s_out - tol <= float(s_all[j]) <= s_in + tol]
    return {"margin": margin, "band": band}


@torch.no_grad()
def run_case(model, ids, press_cls, args, ratio):
    """kept positions [L][KV] (sorted lists) and ties [L][KV] for one press / ratio."""
    press = press_cls(compression_ratio=ratio, **args)
    rec = {}
    orig_score, orig_compress = press.score, press.compress

    def score(module, hidden_states, keys, values, attentions, kwargs):
        s = orig_score(module, hidden_states, keys, values, attentions, kwargs)
        rec.setdefault(module.layer_idx, {})["scores"] = s.detach().clone()
        return s

    def compress(module, hidden_states, keys, values, attentions, kwargs):
        k_in = keys.detach().clone()
        k_out, v_out = orig_compress(module, hidden_states, keys, values, attentions, kwargs)
        r = rec.setdefault(module.layer_idx, {})
        r["keys_in"], r["keys_out"] = k_in, k_out.detach().clone()
        return k_out, v_out

    press.score, press.compress = score, compress  # instance attributes shadow the methods
    cache = DynamicCache()
    with press(model):
        model(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True)
    n_layers = model.config.num_hidden_layers
    kept, ties = [], []
    for layer in range(n_layers):
        r = rec[layer]
        k_in, k_out, scores = r["keys_in"][0], r["keys_out"][0], r["scores"][0]
        n = k_in.shape[1]
        n_kept = max(1, int(n * (1 - ratio)))
        assert k_out.shape[1] == n_kept, (k_out.shape, n_kept)
        assert cache.layers[layer].keys.shape[2] == n_kept
        kept_l, ties_l = [], []
        for h in range(k_in.shape[0]):
            pos = sorted(positions_of(k_in[h], k_out[h]))
            by_score = sorted(scores[h].topk(n_kept).indices.tolist())
            if pos != by_score:
                raise RuntimeError(f"layer {layer} head {h}: gathered positions differ from top-k of the scores")
            kept_l.append(pos)
            ties_l.append(tie_info(scores[h], n_kept))
        kept.append(kept_l)
        ties.append(ties_l)
    return kept, ties


@torch.no_grad()
def check_engine_goldens(model, name, goldens_dir):
    """The fixtures' own goldens were made with another transformers version (requirements.txt):
    this one must compute the same model. Compares the 300-token prefill logits rows."""
    path = os.path.join(goldens_dir, f"{name}.json")
    with open(path) as f:
        g = json.load(f)
    worst = 0.0
    for case in g["prefill"]:
        logits = model(input_ids=torch.tensor([case["input_ids"]])).logits[0]
        for p, row in zip(case["positions"], case["logits"]):
            worst = max(worst, float((logits[p] - torch.tensor(row)).abs().max()))
    if worst > 1e-4:
        raise RuntimeError(f"{name}: logits differ from {path} by {worst:.2e}: not the same model")
    return worst


def mask(positions, n):
    m = ["0"] * n
    for p in positions:
        m[p] = "1"
    return "".join(m)


def compare_outside_bands(a, b, ties):
    """Positions on which kept sets a and b ([L][KV] lists) differ outside the tie bands."""
    bad = []
    for layer, (al, bl) in enumerate(zip(a, b)):
        for h, (ah, bh) in enumerate(zip(al, bl)):
            band = set(ties[layer][h]["band"])
            diff = (set(ah) ^ set(bh)) - band
            if diff:
                bad.append((layer, h, sorted(diff)))
    return bad


def main():
    transformers.utils.logging.disable_progress_bar()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default="tests/fixtures/models")
    ap.add_argument("--out", default="tests/fixtures/press_goldens")
    ap.add_argument("--only", nargs="*", help="model names (default: all)")
    ap.add_argument("--engine-goldens", default="tests/fixtures/goldens")
    ap.add_argument("--allow-other-versions", action="store_true",
                    help="run with versions other than PINNED (the output will not be the committed one)")
    ap.add_argument("--skip-sdpa", action="store_true",
                    help="do not cross-check SnapKV/TOVA with sdpa attention (the goldens then lack sdpa_agrees_outside_bands)")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(a.out, exist_ok=True)
    ids = prompt_ids()
    versions = {
        "kvpress": importlib.metadata.version("kvpress"),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
    }
    log("versions:", versions)
    off = {k: (versions[k], v) for k, v in PINNED.items() if versions[k].split("+")[0] != v}
    if off and not a.allow_other_versions:
        sys.exit(f"versions differ from the pinned ones (found, pinned): {off}; see requirements-kvpress.txt")
    for name in a.only or MODELS:
        model_dir = os.path.join(a.fixtures, name)
        model = load(model_dir, "eager")
        sdpa = None if a.skip_sdpa else load(model_dir, "sdpa")
        cfg = model.config
        log(f"{name}: same logits as the engine goldens (max |diff| {check_engine_goldens(model, name, a.engine_goldens):.1e})")
        cases = []
        for spec, cls, args in PRESSES:
            for ratio in RATIOS:
                kept, ties = run_case(model, ids, cls, args, ratio)
                n_bands = sum(1 for tl in ties for t in tl if t["band"])
                min_margin = min(t["margin"] for tl in ties for t in tl)
                case = {
                    "spec": spec,
                    "upstream": cls.__name__,
                    "upstream_args": args,
                    "compression_ratio": ratio,
                    "n_kept": max(1, int(len(ids) * (1 - ratio))),
                    "kept": [[mask(h, len(ids)) for h in layer] for layer in kept],
                    "ties": ties,
                }
                msg = f"{name:20s} {cls.__name__:24s} {spec:30s} r={ratio:<4} min margin {min_margin:.2e}, {n_bands} tie band(s)"
                if sdpa is not None and cls in (SnapKVPress, TOVAPress):
                    kept_sdpa, _ = run_case(sdpa, ids, cls, args, ratio)
                    bad = compare_outside_bands(kept, kept_sdpa, ties)
                    if bad:
                        raise RuntimeError(f"{name} {spec} r={ratio}: eager and sdpa keep different positions {bad}")
                    case["sdpa_agrees_outside_bands"] = True
                    msg += "; sdpa agrees"
                log(msg)
                cases.append(case)
        out = {
            "model": name,
            "versions": versions,
            "note": NOTE,
            "tie_rel": TIE_REL,
            "n_layers": cfg.num_hidden_layers,
            "n_kv_heads": cfg.num_key_value_heads,
            "prompt_seed": PROMPT_SEED,
            "prompt_ids": ids,
            "cases": cases,
        }
        path = os.path.join(a.out, f"{name}.json")
        with open(path, "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        log("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    sys.exit(main())
