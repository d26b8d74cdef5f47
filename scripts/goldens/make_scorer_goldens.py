#!/usr/bin/env python3
"""Goldens of the upstream kvpress scorers of catalogue part 2 on a real model
(tests/fixtures/press_catalogue_goldens/smollm2_135m_scorers.json).

Same model, context, question, pipeline logic and record format as make_press_catalogue_goldens.py
(whose functions this script reuses; its docstring describes them): for each scorer × compression
ratio 0.25/0.5/0.75, the kept positions per (layer, KV head) after the context prefill, upstream's
near-tie bands, the per-layer cache lengths and 32 greedy ids.

    /work/cache/kvpress-venv/bin/python scripts/goldens/make_scorer_goldens.py /work/cache/smollm2-hf-f32

The test (tests/model/press_catalogue_goldens_test.cc) appends these cases to the part-1 cases (it
checks that the context and question ids are the same).
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
import make_press_catalogue_goldens as cat  # noqa: E402
from unittest import mock  # noqa: E402

from kvpress import (CAMPress, CapPress, CompactorPress, CURPress, ExpectedAttentionPress, KnormPress, MergingPress,  # noqa: E402
                     NonCausalAttnPress, QFilterPress)
from kvpress.presses.leverage_press import LeverageScorePress  # noqa: E402
from kvpress.presses.expected_attention_with_stats import ExpectedAttentionStatsPress  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", cat.ROOT / "tests/fixtures/press_catalogue_goldens/smollm2_135m_scorers.json"))


# Query statistics made by our `kvpress stats` (16 GSM8K questions, 128-token windows; query_cov
# dropped to keep the fixture small): the same file feeds upstream and our presses, so the goldens
# check the scoring given the statistics. Specs name it under $FIXTURES (the test substitutes).
QSTATS = "press_catalogue_goldens/smollm2_135m_qstats.safetensors"


class _OurFilters(QFilterPress):
    """QFilterPress with filters from our statistics file instead of the Hub. Upstream scores
    -(f . k); ours u . k, so f = -u."""

    def post_init_from_model(self, model):
        pass


class _IdentitySketch(LeverageScorePress):
    """LeverageScorePress with its Gaussian sketch Φ pinned to the identity (sketch_dimension = head
    dim): upstream draws Φ with torch.randn at every call, which no other implementation can
    reproduce; with Φ = I it computes the exact ridge leverage that our `sketch=0` computes."""

    @staticmethod
    def compute_leverage_scores(key_states, sketch_dimension):
        d = key_states.shape[-1]
        assert sketch_dimension == d

        def eye(*shape, device=None, dtype=None):
            return torch.eye(d, device=device, dtype=dtype).expand(*shape) * (sketch_dimension ** 0.5)
        with mock.patch("torch.randn", eye):
            return LeverageScorePress.compute_leverage_scores(key_states, sketch_dimension)


class _ExpectedCAM(CAMPress):
    """CAMPress with its Bernoulli merge mask replaced by its expectation (the mask = p): upstream
    draws it with torch.bernoulli, which no other implementation can reproduce; ours computes the
    same with merge=expected."""

    def compress(self, *args, **kwargs):
        with mock.patch("torch.bernoulli", lambda p: p):
            return super().compress(*args, **kwargs)


# cam targets: the 709-token context + 19-token question (728 slots after the question's forward)
# times (1 - r) for r = 0.25 / 0.5 / 0.75.
CAM_TARGETS = {0.25: 546, 0.5: 364, 0.75: 182}


def cases():
    """(spec, ratio, kind, builder() -> (press, scorer presses whose scores give the bands, group))."""
    out = []
    for r in cat.RATIOS:
        def ea(r=r):
            p = ExpectedAttentionPress(compression_ratio=r)
            return p, [p], "head"
        out.append(("expected_attention", r, "prefill", ea))
        def ea_mean(r=r):
            p = ExpectedAttentionPress(compression_ratio=r, use_covariance=False, use_vnorm=False)
            return p, [p], "head"
        if r == 0.5:  # the mean-only path, at one ratio (test time)
            out.append(("expected_attention:use_covariance=0,use_vnorm=0", r, "prefill", ea_mean))
        def qfilter(r=r):
            p = _OurFilters(compression_ratio=r)
            p.q_filters = -load_file(str(cat.ROOT / "tests/fixtures" / QSTATS))["query_filters"].float()
            return p, [p], "head"
        out.append(("qfilter:filters=$FIXTURES/" + QSTATS, r, "prefill", qfilter))
        if r == 0.5:
            def ea_stats(r=r):
                stats = load_file(str(cat.ROOT / "tests/fixtures" / QSTATS))
                p = ExpectedAttentionStatsPress(compression_ratio=r, use_covariance=False)
                p.mu = stats["query_mean"].float()
                p.cov = torch.zeros(*p.mu.shape, p.mu.shape[-1])
                return p, [p], "head"
            out.append(("expected_attention:stats=$FIXTURES/" + QSTATS + ",use_covariance=0", r, "prefill", ea_stats))
        def non_causal(r=r):
            p = NonCausalAttnPress(compression_ratio=r)
            return p, [p], "head"
        out.append(("non_causal_attention", r, "prefill", non_causal))
        def cap(r=r):
            p = CapPress(compression_ratio=r)
            return p, [p], "head"
        out.append(("cap", r, "prefill", cap))
        def cur(r=r):
            p = CURPress(compression_ratio=r)
            return p, [p], "head"
        out.append(("cur", r, "prefill", cur))
        def compactor(r=r):  # presses15c: leverage with the identity sketch (see _IdentitySketch)
            p = CompactorPress(compression_ratio=r, sketch_dimension=64)
            p._leverage_press = _IdentitySketch(compression_ratio=r, sketch_dimension=64)
            return p, [p], "head"
        out.append(("compactor:sketch=0", r, "prefill", compactor))
        def merging(r=r):  # presses15c: the kept set is knorm's; the ids see the merged values
            inner = KnormPress(compression_ratio=r)
            return MergingPress(press=inner), [inner], "head"
        out.append(("merging(knorm)", r, "prefill", merging))
        if r == 0.5:  # both gates, at one ratio
            def merging_gated(r=r):
                inner = KnormPress(compression_ratio=r)
                return MergingPress(press=inner, similarity_threshold=0.3, merge_fraction=0.75), [inner], "head"
            out.append(("merging(knorm):threshold=0.3,fraction=0.75", r, "prefill", merging_gated))
        def cam(r=r):  # presses15c: decoding from the question on, interval 8 (see CAM_TARGETS)
            return _ExpectedCAM(base_press=KnormPress(), compression_interval=8, target_size=CAM_TARGETS[r]), [], "none"
        out.append((f"cam(knorm):target={CAM_TARGETS[r]},interval=8,merge=expected", r, "decoding", cam))
    return out


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2-hf-f32"
    only = sys.argv[2].split("|") if len(sys.argv) > 2 else None
    versions = {k: importlib.metadata.version(k) for k in cat.PINNED}
    if versions != cat.PINNED:
        print(f"warning: versions {versions} differ from the pinned {cat.PINNED}", flush=True)
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("GOLDEN_THREADS", "1")))
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    ctx, q, n_passages = cat.build_text(tok)
    print(f"context {len(ctx)} tokens ({n_passages} passages), question {len(q)}", flush=True)
    with torch.no_grad():
        cache = DynamicCache()
        model.model(input_ids=torch.tensor([ctx]), past_key_values=cache)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(model.config.num_hidden_layers)]
    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "model": "SmolLM2-135M-Instruct Q4_1 -> f32",
              "context_ids": ctx, "question_ids": q, "max_new_tokens": cat.MAX_NEW, "tie_rel": cat.TIE_REL,
              "cases": []}
    if OUT.exists() and only:
        result["cases"] = [c for c in json.loads(OUT.read_text())["cases"] if not any(o in c["spec"] for o in only)]
    for spec, r, kind, build in cases():
        if only and not any(o in spec for o in only):
            continue
        t0 = time.time()
        press, scorers, group = build()
        rec = cat.run_case(model, ctx, q, press, scorers, group, kind, full_keys)
        rec.update({"spec": spec, "compression_ratio": r, "kind": kind})
        result["cases"].append(rec)
        print(spec, r, f"{time.time() - t0:.1f}s", "ids", rec["ids"][:8], flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
