#!/usr/bin/env python3
"""Generate tiny random-weight HF model fixtures and fp32 reference goldens.

Run from the repository root (see scripts/goldens/README.md):

    python scripts/goldens/make_engine_fixtures.py

Writes
  tests/fixtures/models/<name>/{config.json, generation_config.json, model.safetensors}
  tests/fixtures/goldens/<name>.json

Everything is deterministic: weights and prompts come from numpy PCG64 streams with
fixed seeds, torch runs single-threaded on the CPU with deterministic algorithms.
Goldens are computed in float32 with attn_implementation="eager" from the model
*re-loaded from its fixture directory* (for *_bf16 fixtures: the bf16 weights loaded
and upcast to float32, i.e. what an fp32-activation engine computes).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import sys
import warnings

import numpy as np
import safetensors
import torch
import transformers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

# ----------------------------------------------------------------------------------------
# Fixture definitions
# ----------------------------------------------------------------------------------------

VOCAB = 512

COMMON = dict(
    hidden_size=64,
    num_hidden_layers=2,
    intermediate_size=128,
    vocab_size=VOCAB,
    max_position_embeddings=1024,
    rms_norm_eps=1e-5,
    head_dim=16,
    hidden_act="silu",
    bos_token_id=1,
    eos_token_id=2,
)

LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 10000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}

# name, (config class, model class), config overrides, weight seed, storage dtypes
SPECS = [
    dict(
        name="llama_gqa_rope3",
        classes=(LlamaConfig, LlamaForCausalLM),
        cfg=dict(
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=False,
            rope_parameters=dict(LLAMA3_ROPE),
        ),
        seed=1001,
        dtypes=("f32", "bf16"),
    ),
    dict(
        name="llama_mha_tied",
        classes=(LlamaConfig, LlamaForCausalLM),
        cfg=dict(
            num_attention_heads=4,
            num_key_value_heads=4,
            tie_word_embeddings=True,
            rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        ),
        seed=1002,
        dtypes=("f32", "bf16"),
    ),
    dict(
        name="mistral_gqa",
        classes=(MistralConfig, MistralForCausalLM),
        cfg=dict(
            num_attention_heads=4,
            num_key_value_heads=1,
            tie_word_embeddings=False,
            sliding_window=None,  # MistralConfig defaults to 4096: must be explicit
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        ),
        seed=1003,
        dtypes=("f32", "bf16"),
    ),
    dict(
        name="mistral_swa",
        classes=(MistralConfig, MistralForCausalLM),
        cfg=dict(
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=False,
            sliding_window=64,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        ),
        seed=1004,
        dtypes=("f32",),
    ),
    dict(
        name="qwen2_bias",
        classes=(Qwen2Config, Qwen2ForCausalLM),
        cfg=dict(
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=True,
            rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        ),
        seed=1005,
        dtypes=("f32", "bf16"),
    ),
    dict(
        name="qwen3_qknorm",
        classes=(Qwen3Config, Qwen3ForCausalLM),
        cfg=dict(
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=32,  # != hidden_size / num_attention_heads (= 16)
            tie_word_embeddings=False,
            rms_norm_eps=1e-6,
            attention_bias=False,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        ),
        seed=1006,
        dtypes=("f32", "bf16"),
    ),
]

PROMPT_SEEDS = {1: 501, 7: 507, 300: 800}
PREFILL_ROWS = {1: [0], 7: list(range(7)), 300: [0, 1, 63, 64, 65, 150, 299]}
GREEDY_STEPS = 50
GREEDY_LOGIT_STEPS = [0, 24, 49]
# Extra case, only for the sliding-window fixture: decode from the 300-token prompt,
# so every decode step has to respect the window (needs a windowed KV cache).
GREEDY_LONG_STEPS = 20
GREEDY_LONG_LOGIT_STEPS = [0, 19]

METRIC_NOTE = (
    "Reference logits from HF transformers, float32 activations, attn_implementation=eager, "
    "CPU, single thread. For *_bf16 fixtures the bf16-stored weights were loaded and upcast to "
    "float32 (activations and RoPE tables are float32). Compare an engine row r against the "
    "golden row g with max_abs = max_i |r_i - g_i|; an fp32 engine should get max_abs well below "
    "1e-3 (different summation order alone gives ~1e-5; see 'self_consistency' for the "
    "cached-vs-uncached difference inside transformers itself). greedy.generated_ids must match "
    "exactly; 'top2_margin' (top1 - top2 logit per step) shows how robust each argmax is. "
    "Positions are 0-based; logits rows are listed in the order of 'positions'."
)


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def log(*a):
    print(*a, flush=True)


def dtype_kw():
    """from_pretrained() keyword for the load dtype (torch_dtype was renamed in v5)."""
    major = int(transformers.__version__.split(".")[0])
    return "dtype" if major >= 5 else "torch_dtype"


def build_config(spec):
    cfg_cls, _ = spec["classes"]
    kw = dict(COMMON)
    kw.update(spec["cfg"])
    major = int(transformers.__version__.split(".")[0])
    if major < 5:  # transformers 4.x spells RoPE settings as rope_theta + rope_scaling
        rp = kw.pop("rope_parameters")
        kw["rope_theta"] = rp["rope_theta"]
        if rp.get("rope_type", "default") != "default":
            kw["rope_scaling"] = {k: v for k, v in rp.items() if k != "rope_theta"}
    return cfg_cls(**kw)


def reinit_parameters(model, seed):
    """Re-initialise every parameter from a fixed numpy PCG64 stream.

    linear weights ~ N(0, 0.15); embeddings ~ N(0, 1); RMSNorm weights (incl. q_norm/k_norm)
    = 1 + N(0, 0.1); biases ~ N(0, 0.1). Tied parameters appear once in named_parameters().
    """
    rng = np.random.default_rng(seed)
    kinds = {}
    for name, p in model.named_parameters():
        if name.endswith("embed_tokens.weight"):
            mean, std, kind = 0.0, 1.0, "embedding"
        elif "norm" in name.split(".")[-2] and name.endswith(".weight") and p.dim() == 1:
            mean, std, kind = 1.0, 0.1, "rmsnorm"
        elif name.endswith(".bias"):
            mean, std, kind = 0.0, 0.1, "bias"
        elif name.endswith(".weight") and p.dim() == 2:
            mean, std, kind = 0.0, 0.15, "linear"
        else:
            raise RuntimeError(f"don't know how to initialise {name} {tuple(p.shape)}")
        vals = mean + std * rng.standard_normal(tuple(p.shape))
        with torch.no_grad():
            p.copy_(torch.from_numpy(vals.astype(np.float32)))
        kinds[name] = kind
    return kinds


def load_fp32(cls, path):
    return cls.from_pretrained(path, attn_implementation="eager", **{dtype_kw(): torch.float32}).eval()


def rows(t):
    """float32 tensor [n, V] -> list of lists of python floats (exact float32 values)."""
    a = t.detach().to(torch.float32).cpu().numpy()
    return [[float(x) for x in r] for r in a]


def argmax_lowest(v):
    m = v.max()
    return int(torch.nonzero(v == m)[0, 0])


def top2_margin(v):
    top = torch.topk(v, 2).values
    return float(top[0] - top[1])


def prompts():
    out = {}
    for n, seed in PROMPT_SEEDS.items():
        rng = np.random.default_rng(seed)
        out[n] = [int(x) for x in rng.integers(0, VOCAB, size=n)]
    return out


@torch.no_grad()
def greedy(model, prompt_ids, steps, logit_steps):
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    out = model(input_ids=ids, use_cache=True)
    past = out.past_key_values
    logits = out.logits[0, -1].float()
    gen, step_rows, margins = [], {}, []
    for k in range(steps):
        nxt = argmax_lowest(logits)
        gen.append(nxt)
        margins.append(top2_margin(logits))
        if k in logit_steps:
            step_rows[str(k)] = rows(logits[None])[0]
        if k + 1 < steps:
            out = model(
                input_ids=torch.tensor([[nxt]], dtype=torch.long), past_key_values=past, use_cache=True
            )
            past = out.past_key_values
            logits = out.logits[0, -1].float()

    # Self-consistency: recompute the recorded steps without the KV cache.
    max_diff = 0.0
    for k in logit_steps:
        full = torch.tensor([prompt_ids + gen[:k]], dtype=torch.long)
        ref = model(input_ids=full, use_cache=False).logits[0, -1].float()
        if argmax_lowest(ref) != gen[k]:
            raise RuntimeError(f"uncached recompute disagrees with cached greedy at step {k}")
        max_diff = max(max_diff, float((ref - torch.tensor(step_rows[str(k)])).abs().max()))
    return dict(
        prompt_ids=list(prompt_ids),
        generated_ids=gen,
        step_logits=step_rows,
        top2_margin=margins,
    ), max_diff


# ----------------------------------------------------------------------------------------
# Checks that document transformers' behaviour
# ----------------------------------------------------------------------------------------


def check_llama3_rope(model, cfg_rope, head_dim):
    """Recompute the llama3 frequency adjustment independently and classify each i."""
    theta = cfg_rope["rope_theta"]
    factor = cfg_rope["factor"]
    lo, hi = cfg_rope["low_freq_factor"], cfg_rope["high_freq_factor"]
    orig = cfg_rope["original_max_position_embeddings"]
    lo_wl, hi_wl = orig / lo, orig / hi
    classes, mine = [], []
    for i in range(head_dim // 2):
        inv = theta ** (-2.0 * i / head_dim)
        wl = 2 * math.pi / inv
        if wl < hi_wl:
            c, adj = "keep", inv
        elif wl > lo_wl:
            c, adj = "divide", inv / factor
        else:
            s = (orig / wl - lo) / (hi - lo)
            c, adj = f"smooth(s={s:.4f})", (1 - s) * inv / factor + s * inv
        classes.append((i, wl, c, inv, adj))
        mine.append(adj)
    hf = model.model.rotary_emb.inv_freq.double()
    err = float((hf - torch.tensor(mine, dtype=torch.float64)).abs().max() / max(mine))
    log(f"  llama3 rope (hd={head_dim}, theta={theta}, orig={orig}): lo_wl={lo_wl} hi_wl={hi_wl}")
    for i, wl, c, inv, adj in classes:
        log(f"    i={i}: wavelen={wl:10.3f}  {c:22s} inv={inv:.6e} -> {adj:.6e} (divisor {inv / adj:.6f})")
    log(f"  HF inv_freq vs independent formula: max rel err {err:.2e}")
    kinds = [c.split("(")[0] for _, _, c, _, _ in classes]
    assert {"keep", "divide", "smooth"} <= set(kinds), kinds
    assert err < 1e-6, err
    return [dict(i=i, wavelen=wl, kind=c, divisor=inv / adj) for i, wl, c, inv, adj in classes]


def check_default_rope(model, theta, head_dim):
    mine = torch.tensor([theta ** (-2.0 * i / head_dim) for i in range(head_dim // 2)], dtype=torch.float64)
    hf = model.model.rotary_emb.inv_freq.double()
    err = float(((hf - mine).abs() / mine).max())
    assert err < 1e-6, err


@torch.no_grad()
def check_sliding_window(model_dir, prompt):
    """Verify that the window is applied, and which convention (p-W < j <= p) it uses."""
    windowed = load_fp32(MistralForCausalLM, model_dir)
    W = windowed.config.sliding_window
    full = MistralForCausalLM.from_pretrained(
        model_dir, attn_implementation="eager", sliding_window=None, **{dtype_kw(): torch.float32}
    ).eval()
    assert full.config.sliding_window is None
    ids = torch.tensor([prompt], dtype=torch.long)
    a = windowed(input_ids=ids, use_cache=False, output_attentions=True)
    b = full(input_ids=ids, use_cache=False)
    d = (a.logits[0] - b.logits[0]).abs().max(dim=-1).values
    first_diff = int(torch.nonzero(d > 0)[0, 0])
    log(f"  sliding_window={W}: windowed vs sliding_window=None, per-position max|dlogit|:")
    for p in [0, 1, W - 2, W - 1, W, W + 1, 150, len(prompt) - 1]:
        log(f"    p={p:3d}: {float(d[p]):.3e}")
    log(f"  first position whose logits differ: {first_diff}")
    # Attention probabilities of layer 0: which keys get non-zero weight?
    att = a.attentions[0][0]  # [heads, q, k]
    spans = {}
    for p in [0, W - 1, W, W + 1, 150, len(prompt) - 1]:
        nz = torch.nonzero(att[:, p, :].amax(dim=0) > 0)[:, 0]
        spans[p] = (int(nz.min()), int(nz.max()), int(nz.numel()))
        log(f"    query p={p:3d}: attended keys j in [{spans[p][0]}, {spans[p][1]}] ({spans[p][2]} keys)")
    for p, (lo, hi, n) in spans.items():
        assert hi == p and lo == max(0, p - W + 1) and n == min(p + 1, W), (p, lo, hi, n)
    assert first_diff == W, first_diff  # p=W is the first query that loses key j=0
    return dict(
        window=W,
        convention="query p attends keys j with p - W < j <= p (W keys including itself)",
        first_position_differing_from_full_causal=first_diff,
    )


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures", help="output root (default: tests/fixtures)")
    ap.add_argument("--only", nargs="*", help="fixture base names to (re)generate")
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    # transformers 5.x renames the forward kwarg past_key_values -> cache (still accepted).
    warnings.filterwarnings("ignore", category=FutureWarning, message=".*past_key_values.*")

    models_root = os.path.join(args.out, "models")
    goldens_root = os.path.join(args.out, "goldens")
    os.makedirs(models_root, exist_ok=True)
    os.makedirs(goldens_root, exist_ok=True)

    versions = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
    log("versions:", versions)
    P = prompts()

    for spec in SPECS:
        if args.only and spec["name"] not in args.only:
            continue
        base = spec["name"]
        cfg_cls, cls = spec["classes"]
        log(f"== {base}")
        config = build_config(spec)
        model = cls(config).eval()
        reinit_parameters(model, spec["seed"])
        if config.tie_word_embeddings:
            assert model.lm_head.weight is model.model.embed_tokens.weight
        ref_sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

        extra_checks = {}
        for dt in spec["dtypes"]:
            name = f"{base}_{dt}"
            mdir = os.path.join(models_root, name)
            if os.path.isdir(mdir):
                shutil.rmtree(mdir)
            if dt == "f32":
                model.save_pretrained(mdir, safe_serialization=True)
            else:
                mb = copy.deepcopy(model).to(torch.bfloat16)
                if config.tie_word_embeddings:
                    assert mb.lm_head.weight is mb.model.embed_tokens.weight
                mb.save_pretrained(mdir, safe_serialization=True)
                del mb
            for fn in os.listdir(mdir):  # safetensors writes 0600; make the fixtures readable
                os.chmod(os.path.join(mdir, fn), 0o644)

            # Reload from disk in fp32 and verify the weights are exactly what we intended.
            m = load_fp32(cls, mdir)
            sd = m.state_dict()
            for k, v in ref_sd.items():
                want = v if dt == "f32" else v.to(torch.bfloat16).to(torch.float32)
                if not torch.equal(sd[k], want):
                    raise RuntimeError(f"{name}: reloaded {k} differs from the generated weights")
            with safetensors.safe_open(os.path.join(mdir, "model.safetensors"), "pt") as f:
                tensor_names = sorted(f.keys())
            log(f"  {name}: {len(tensor_names)} tensors, lm_head stored: {'lm_head.weight' in tensor_names}")

            # RoPE table sanity (must be float32 computed from config, also for bf16 fixtures).
            assert m.model.rotary_emb.inv_freq.dtype == torch.float32
            rp = m.config.rope_parameters
            if rp.get("rope_type") == "llama3":
                extra_checks["llama3_rope"] = check_llama3_rope(m, rp, m.config.head_dim)
            else:
                check_default_rope(m, rp["rope_theta"], m.config.head_dim)

            golden = dict(
                model=name,
                dtype=dt,
                versions=versions,
                metric=METRIC_NOTE,
                vocab_size=VOCAB,
                eos_token_id=m.config.eos_token_id,
            )
            with torch.no_grad():
                prefill = []
                for n in (1, 7, 300):
                    ids = torch.tensor([P[n]], dtype=torch.long)
                    lg = m(input_ids=ids, use_cache=False).logits[0].float()
                    pos = PREFILL_ROWS[n]
                    prefill.append(dict(input_ids=P[n], positions=pos, logits=rows(lg[pos])))
                golden["prefill"] = prefill
                g, d1 = greedy(m, P[7], GREEDY_STEPS, GREEDY_LOGIT_STEPS)
                golden["greedy"] = g
                consistency = {"greedy_cached_vs_uncached_max_abs": d1}
                if base == "mistral_swa":
                    g2, d2 = greedy(m, P[300], GREEDY_LONG_STEPS, GREEDY_LONG_LOGIT_STEPS)
                    golden["greedy_long"] = g2
                    consistency["greedy_long_cached_vs_uncached_max_abs"] = d2
                    sw = check_sliding_window(mdir, P[300])
                    golden["sliding_window"] = sw
                golden["self_consistency"] = consistency
            if "llama3_rope" in extra_checks:
                golden["llama3_rope_classification"] = extra_checks["llama3_rope"]
            log(
                f"  greedy: {g['generated_ids'][:12]}... min top2 margin {min(g['top2_margin']):.4f}; "
                f"cached-vs-uncached max|d| {consistency}"
            )
            gpath = os.path.join(goldens_root, f"{name}.json")
            with open(gpath, "w") as f:
                json.dump(golden, f, separators=(",", ":"))
                f.write("\n")
            log(f"  wrote {gpath} ({os.path.getsize(gpath) / 1024:.1f} KiB)")
            del m
    return 0


if __name__ == "__main__":
    sys.exit(main())
