"""Press classes: upstream's names and parameters map onto the registry's specs, every registered
press is reachable, and bad parameters fail when the press is built."""

from __future__ import annotations

import pytest

import kvpress_cpp as kv
from kvpress_cpp import presses


@pytest.mark.parametrize(
    "press,spec",
    [
        (kv.KnormPress(0.5), "knorm"),
        (kv.RandomPress(0.3, seed=5), "random:seed=5"),
        (kv.RandomPress(0.3), "random"),
        (kv.StreamingLLMPress(0.5, n_sink=8), "streaming_llm:n_sink=8"),
        (kv.SnapKVPress(0.4, window_size=32, kernel_size=7), "snapkv:window=32,kernel=7"),
        (kv.TOVAPress(0.2), "tova"),
        (kv.ObservedAttentionPress(0.2, output_attentions=True), "observed_attention"),
        (kv.KeyDiffPress(0.2), "keydiff"),
        (kv.LagKVPress(0.5, n_sink=2, lag_size=16, cross_scoring=True), "lagkv:n_sink=2,lag=16,cross_scoring=1"),
        (kv.H2OPress(128), "h2o"),
        (kv.SnapKVDecodingPress(256, window_size=16), "snapkv_d:window=16,kernel=5"),
        (kv.RKVPress(128, lam=0.1, compat="fork"), "rkv:lambda=0.1,compat=fork"),
        (kv.RKVLSHPress(128, n_hash_bits=4), "rkv_lsh:bits=4"),
        (kv.FullPress(), "full"),
    ],
)
def test_spec_of_each_class(press, spec):
    assert press.spec == spec
    assert presses.from_spec(spec).spec == spec


def test_budgets_are_kept_on_the_press():
    p = kv.KnormPress(compression_ratio=0.25)
    assert (p.compression_ratio, p.cache_budget) == (0.25, 0)
    p = kv.H2OPress(cache_budget=64)
    assert (p.compression_ratio, p.cache_budget) == (0.0, 64)
    assert "cache_budget=64" in repr(p)


def test_decoding_press_sets_the_upstream_decoding_policy():
    p = kv.DecodingPress(kv.KnormPress(), compression_interval=16, target_size=64)
    assert (p.name, p.compression_interval, p.target_size) == ("knorm", 16, 64)


def test_every_registered_press_is_reachable():
    names = {info["name"] for info in presses.available()}
    assert {"knorm", "snapkv", "snapkv_d", "h2o", "streaming_llm", "rkv", "full"} <= names
    for info in presses.available():
        if info["min_children"] > 0:  # a wrapper (e.g. adakv(knorm)): refused without its inner press
            with pytest.raises(kv.KvpressError, match="inner press"):
                kv.Press(info["name"])
            continue
        if info["name"] == "qfilter":  # needs filters=FILE, a statistics file made by `kvpress stats`
            continue
        if info["name"] in ("kvzap", "lukv", "fastkvzip"):  # need a weights / curve / gates file
            with pytest.raises(kv.KvpressError, match="FILE"):
                kv.Press(info["name"])
            continue
        params = {p["name"]: p["default"] for p in info["params"] if p["default"].lstrip("-").replace(".", "").isdigit()}
        assert kv.Press(info["name"], **params).name == info["name"]


def test_unknown_press_lists_the_registered_ones():
    with pytest.raises(kv.NotFoundError) as e:
        kv.Press("nosuch")
    assert "knorm" in str(e.value) and e.value.exit_code == 2


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(kv.NotFoundError, match="window"):
        kv.Press("snapkv", windw=4)


def test_bad_parameter_value_fails_at_construction():
    with pytest.raises(kv.FailedPreconditionError):
        kv.SnapKVPress(0.5, window_size=0)


def test_budget_out_of_range_is_a_usage_error():
    with pytest.raises(kv.UsageError):
        kv.KnormPress(compression_ratio=1.5)


def test_errors_module_maps_every_code():
    assert isinstance(kv.errors.from_status("InvalidArgument", "m"), kv.UsageError)
    assert isinstance(kv.errors.from_status("DataLoss", "m"), kv.DataLossError)
    assert isinstance(kv.errors.from_status("Internal", "m"), kv.InternalError)
    assert kv.errors.from_status("NotFound", "m").exit_code == 2
