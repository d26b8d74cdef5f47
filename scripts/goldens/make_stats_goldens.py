#!/usr/bin/env python3
"""Reference numbers for src/eval/stats.h (the intervals and tests of `kvpress report`).

Writes tests/fixtures/stats_goldens.json, read by tests/unit/stats_test.cc:

- wilson:    statsmodels proportion_confint(method="wilson"), alpha 0.05
- mcnemar:   statsmodels mcnemar(exact=True) p-value, cross-checked here against scipy binomtest
- holm:      statsmodels multipletests(method="holm") adjusted p-values
- splitmix:  the first outputs of SplitMix64 and the rejection-reduced indices (Python, 64-bit masks)
- bootstrap_exact: percentile bootstrap intervals computed here with the SAME resampling indices as
             the C++ code (SplitMix64, sample-major), numpy.percentile(method="linear"): compared exactly
- bootstrap_scipy: scipy.stats.bootstrap(method="percentile") intervals for the same data (its own
             random stream): compared statistically (Monte Carlo tolerance)

Run (versions pinned in stats-requirements.txt), from the repository root:
  python3 -m venv /work/cache/stats-venv
  /work/cache/stats-venv/bin/pip install -r scripts/goldens/stats-requirements.txt
  /work/cache/stats-venv/bin/python scripts/goldens/make_stats_goldens.py
"""
import argparse
import json
import os

import numpy as np
import scipy
import scipy.stats
import statsmodels
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

MASK = (1 << 64) - 1


class SplitMix64:
    """Steele, Lea & Flood (2014): the generator the C++ bootstrap draws its indices from."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        """Uniform in [0, n): reject values at or above the largest multiple of n below 2^64."""
        limit = MASK - ((MASK % n) + 1) % n
        while True:
            v = self.next()
            if v <= limit:
                return v % n


def bootstrap_indices(n, resamples, seed):
    rng = SplitMix64(seed)
    return np.array([[rng.below(n) for _ in range(n)] for _ in range(resamples)], dtype=np.int64)


def percentile_interval(stats, level):
    tail = (1 - level) / 2
    return [float(np.percentile(stats, 100 * tail, method="linear")),
            float(np.percentile(stats, 100 * (1 - tail), method="linear"))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/stats_goldens.json")
    args = ap.parse_args()
    data_rng = np.random.default_rng(20260101)

    wilson = []
    for k, n in [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (9, 100), (55, 100), (60, 100), (98, 100),
                 (100, 100), (0, 100), (1, 1000), (512, 1000), (999, 1000), (123456, 200000)]:
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        wilson.append({"k": k, "n": n, "lo": float(lo), "hi": float(hi)})

    mc = []
    for b, c in [(0, 0), (0, 1), (1, 0), (3, 3), (2, 9), (10, 4), (0, 40), (45, 0), (17, 23), (1, 99),
                 (120, 160), (600, 660), (5000, 5200)]:
        p = float(mcnemar([[0, b], [c, 0]], exact=True).pvalue)
        if b + c > 0:
            alt = float(scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue)
            assert abs(p - alt) <= 1e-12 * max(1.0, p), (b, c, p, alt)
        mc.append({"b": b, "c": c, "p": p})

    holm = []
    for p in [[0.01], [0.01, 0.04, 0.03, 0.005], [0.5, 0.5, 0.01], [1e-6, 0.2, 0.04, 0.04, 0.9, 0.011],
              list(map(float, data_rng.uniform(0, 0.2, size=12)))]:
        holm.append({"p": p, "adjusted": [float(x) for x in multipletests(p, method="holm")[1]]})

    rng = SplitMix64(1234567)
    splitmix = {"seed": 1234567, "next": [str(rng.next()) for _ in range(5)]}
    rng = SplitMix64(42)
    splitmix["below_seed"] = 42
    splitmix["below"] = [{"n": n, "value": rng.below(n)} for n in [1, 2, 3, 7, 100, 1000003, (1 << 63) + 5]]

    # Exact replay: small B, the C++ draw order (resample-major, n draws each).
    exact = []
    for n, p_true, resamples, seed in [(30, 0.4, 200, 7), (100, 0.6, 500, 20260101), (57, 0.9, 300, 99)]:
        x = (data_rng.uniform(size=n) < p_true).astype(float)
        idx = bootstrap_indices(n, resamples, seed)
        ci = percentile_interval(x[idx].mean(axis=1), 0.95)
        # Paired: baseline a, run b correlated with a.
        b = np.where(data_rng.uniform(size=n) < 0.8, x, 1 - x)
        diff = (b[idx] - x[idx]).mean(axis=1)
        exact.append({"x": x.tolist(), "y": b.tolist(), "resamples": resamples, "seed": seed, "level": 0.95,
                      "mean_ci": ci, "diff_ci": percentile_interval(diff, 0.95)})

    # scipy's bootstrap (its own stream): the C++ intervals must agree up to Monte Carlo error.
    sp = []
    for n, p_true in [(100, 0.55), (100, 0.9), (400, 0.3)]:
        x = (data_rng.uniform(size=n) < p_true).astype(float)
        y = np.where(data_rng.uniform(size=n) < 0.85, x, 1 - x)
        r = scipy.stats.bootstrap((x,), np.mean, n_resamples=20000, method="percentile", confidence_level=0.95,
                                  random_state=np.random.default_rng(1))
        rd = scipy.stats.bootstrap((x, y), lambda a, b, axis=-1: np.mean(b, axis=axis) - np.mean(a, axis=axis),
                                   paired=True, vectorized=True, n_resamples=20000, method="percentile",
                                   confidence_level=0.95, random_state=np.random.default_rng(2))
        sp.append({"x": x.tolist(), "y": y.tolist(),
                   "mean_ci": [float(r.confidence_interval.low), float(r.confidence_interval.high)],
                   "diff_ci": [float(rd.confidence_interval.low), float(rd.confidence_interval.high)]})

    out = {
        "generator": "scripts/goldens/make_stats_goldens.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
        "wilson": wilson, "mcnemar": mc, "holm": holm, "splitmix": splitmix,
        "bootstrap_exact": exact, "bootstrap_scipy": sp,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
