"""KV-cache presses, named as in upstream kvpress where it has them.

Each class describes a press of the engine's registry (``kvpress presses`` lists them) with its
parameters and a budget; it is checked when constructed, so a bad value fails at once with the
CLI's message. Upstream's classes keep their names and parameters::

    KnormPress(compression_ratio=0.5)
    SnapKVPress(compression_ratio=0.3, window_size=64, kernel_size=5)
    StreamingLLMPress(compression_ratio=0.5, n_sink=4)

Two budget semantics (docs/PYTHON.md): ``compression_ratio`` is upstream's fraction of the
context's KV pairs removed at prefill; ``cache_budget`` is the reasoning fork's slots kept per KV
head and layer, enforced after the prefill and at every decoding step. Either may also be given to
the pipeline call, which then wins over the press's own.

Presses without an upstream class (``h2o``, ``snapkv_d``, ``rkv``, ``rkv_lsh``, ``full``) have
classes named after the fork's; any registered press is reachable by its registry name with
:class:`Press` (``Press("snapkv_d", window=32, cache_budget=128)``) or :func:`from_spec`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from . import _core

__all__ = [
    "Press",
    "from_spec",
    "available",
    "KnormPress",
    "RandomPress",
    "StreamingLLMPress",
    "SnapKVPress",
    "TOVAPress",
    "ObservedAttentionPress",
    "KeyDiffPress",
    "LagKVPress",
    "DecodingPress",
    "H2OPress",
    "SnapKVDecodingPress",
    "RKVPress",
    "RKVLSHPress",
    "FullPress",
]


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class Press:
    """A registered press with its parameters and budget.

    Args:
        name: the registry name (``"knorm"``, ``"snapkv_d"``, ...; see :func:`available`).
        compression_ratio: fraction of the context's KV pairs removed at prefill (upstream's).
        cache_budget: slots kept per KV head and layer, enforced at prefill and every decoding
            step (the reasoning fork's); 0 = no budget.
        compression_interval: decoding steps between two prunes (with ``cache_budget``: prune once
            the cache reaches budget + interval; with ``target_size``: every interval steps).
        target_size: upstream ``DecodingPress`` target: prune to this many slots every interval.
        **params: the press's registry parameters (``window=32``), as in ``name:key=value``.

    Raises:
        NotFoundError: unknown press or parameter (the message lists the valid ones).
        FailedPreconditionError: a parameter value the press refuses.
        UsageError: a budget out of range.
    """

    name: str = ""

    def __init__(
        self,
        name: str,
        *,
        compression_ratio: float = 0.0,
        cache_budget: int = 0,
        compression_interval: int = 0,
        target_size: int = 0,
        **params: Any,
    ) -> None:
        self.name = name
        self.params: Dict[str, Any] = {k: v for k, v in params.items() if v is not None}
        self.compression_ratio = float(compression_ratio)
        self.cache_budget = int(cache_budget)
        self.compression_interval = int(compression_interval)
        self.target_size = int(target_size)
        _core.check_press(
            self.spec, self.cache_budget, self.compression_ratio, self.compression_interval, self.target_size
        )

    @property
    def spec(self) -> str:
        """The CLI's ``--press`` spec of this press: ``name[:key=value,...]``."""
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_format_value(v)}" for k, v in self.params.items())

    def __repr__(self) -> str:
        budget = []
        if self.compression_ratio:
            budget.append(f"compression_ratio={self.compression_ratio}")
        if self.cache_budget:
            budget.append(f"cache_budget={self.cache_budget}")
        if self.compression_interval:
            budget.append(f"compression_interval={self.compression_interval}")
        if self.target_size:
            budget.append(f"target_size={self.target_size}")
        return f"{type(self).__name__}({self.spec!r}{''.join(', ' + b for b in budget)})"


def from_spec(spec: str, **budget: Any) -> Press:
    """A press from a CLI spec (``"snapkv_d:window=8,kernel=5"``) and budget keywords."""
    name, _, rest = spec.partition(":")
    params: Dict[str, Any] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq:
                # Let the engine word the error exactly as the CLI does.
                _core.check_press(spec)
            params[key.strip()] = value.strip()
    return Press(name.strip(), **budget, **params)


def available() -> List[Dict[str, Any]]:
    """Every registered press: name, summary, paper, phases, needs and params (name, default, help)."""
    return list(_core.press_catalog())


class KnormPress(Press):
    """Keeps the keys of lowest L2 norm (Devoto et al. 2024, arXiv:2406.11430)."""

    def __init__(self, compression_ratio: float = 0.0, *, cache_budget: int = 0, **budget: Any) -> None:
        super().__init__("knorm", compression_ratio=compression_ratio, cache_budget=cache_budget, **budget)


class RandomPress(Press):
    """Evicts uniformly at random; ``seed`` None uses the run's seed."""

    def __init__(
        self, compression_ratio: float = 0.0, seed: Optional[int] = None, *, cache_budget: int = 0, **budget: Any
    ) -> None:
        super().__init__("random", compression_ratio=compression_ratio, cache_budget=cache_budget, seed=seed, **budget)


class StreamingLLMPress(Press):
    """Keeps ``n_sink`` attention sinks and the most recent slots (Xiao et al. 2024)."""

    def __init__(self, compression_ratio: float = 0.0, n_sink: int = 4, *, cache_budget: int = 0, **budget: Any) -> None:
        super().__init__(
            "streaming_llm", compression_ratio=compression_ratio, cache_budget=cache_budget, n_sink=n_sink, **budget
        )


class SnapKVPress(Press):
    """Pooled attention of the last ``window_size`` queries; the window is kept (Li et al. 2024)."""

    def __init__(
        self,
        compression_ratio: float = 0.0,
        window_size: int = 64,
        kernel_size: int = 5,
        *,
        cache_budget: int = 0,
        **budget: Any,
    ) -> None:
        super().__init__(
            "snapkv",
            compression_ratio=compression_ratio,
            cache_budget=cache_budget,
            window=window_size,
            kernel=kernel_size,
            **budget,
        )


class TOVAPress(Press):
    """Attention of the last query averaged over all heads (Oren et al. 2024)."""

    def __init__(self, compression_ratio: float = 0.0, *, cache_budget: int = 0, **budget: Any) -> None:
        super().__init__("tova", compression_ratio=compression_ratio, cache_budget=cache_budget, **budget)


class ObservedAttentionPress(Press):
    """Mean attention received. ``output_attentions`` is accepted for compatibility: the engine
    computes the statistic without materialising attention matrices."""

    def __init__(
        self, compression_ratio: float = 0.0, output_attentions: bool = False, *, cache_budget: int = 0, **budget: Any
    ) -> None:
        del output_attentions
        super().__init__("observed_attention", compression_ratio=compression_ratio, cache_budget=cache_budget, **budget)


class KeyDiffPress(Press):
    """Keeps keys least similar to the mean normalised key (KeyDiff, arXiv:2504.15364)."""

    def __init__(self, compression_ratio: float = 0.0, *, cache_budget: int = 0, **budget: Any) -> None:
        super().__init__("keydiff", compression_ratio=compression_ratio, cache_budget=cache_budget, **budget)


class LagKVPress(Press):
    """Lag-relative statistics of keys and values (LagKV, arXiv:2504.04704)."""

    def __init__(
        self,
        compression_ratio: float = 0.0,
        n_sink: int = 4,
        lag_size: int = 128,
        cross_scoring: bool = False,
        *,
        cache_budget: int = 0,
        **budget: Any,
    ) -> None:
        super().__init__(
            "lagkv",
            compression_ratio=compression_ratio,
            cache_budget=cache_budget,
            n_sink=n_sink,
            lag=lag_size,
            cross_scoring=cross_scoring,
            **budget,
        )


class H2OPress(Press):
    """Heavy hitters: accumulated attention per observing query, per layer (reasoning fork's H2O)."""

    def __init__(self, cache_budget: int = 0, *, compression_ratio: float = 0.0, **budget: Any) -> None:
        super().__init__("h2o", compression_ratio=compression_ratio, cache_budget=cache_budget, **budget)


class SnapKVDecodingPress(Press):
    """SnapKV at every decoding step (the reasoning fork's SnapKV-D), window clamped to the cache."""

    def __init__(
        self,
        cache_budget: int = 0,
        window_size: int = 64,
        kernel_size: int = 5,
        *,
        compression_ratio: float = 0.0,
        **budget: Any,
    ) -> None:
        super().__init__(
            "snapkv_d",
            compression_ratio=compression_ratio,
            cache_budget=cache_budget,
            window=window_size,
            kernel=kernel_size,
            **budget,
        )


class RKVPress(Press):
    """R-KV: importance minus key redundancy (Cai et al. 2025); ``compat="fork"`` reproduces the
    reasoning fork's variant. ``lam`` is the weight of importance (the registry's ``lambda``)."""

    def __init__(
        self,
        cache_budget: int = 0,
        window_size: Optional[int] = None,
        kernel_size: Optional[int] = None,
        lam: Optional[float] = None,
        compat: Optional[str] = None,
        *,
        compression_ratio: float = 0.0,
        **budget: Any,
    ) -> None:
        params: Dict[str, Any] = {"window": window_size, "kernel": kernel_size, "lambda": lam, "compat": compat}
        super().__init__("rkv", compression_ratio=compression_ratio, cache_budget=cache_budget, **params, **budget)


class RKVLSHPress(Press):
    """R-KV with SimHash redundancy (the reasoning fork's RKVLSHPress); ``n_hash_bits`` buckets bits."""

    def __init__(
        self,
        cache_budget: int = 0,
        window_size: Optional[int] = None,
        kernel_size: Optional[int] = None,
        lam: Optional[float] = None,
        n_hash_bits: Optional[int] = None,
        seed: Optional[int] = None,
        *,
        compression_ratio: float = 0.0,
        **budget: Any,
    ) -> None:
        params: Dict[str, Any] = {
            "window": window_size,
            "kernel": kernel_size,
            "lambda": lam,
            "bits": n_hash_bits,
            "seed": seed,
        }
        super().__init__("rkv_lsh", compression_ratio=compression_ratio, cache_budget=cache_budget, **params, **budget)


class FullPress(Press):
    """No compression: every slot is kept (the instrumentation still runs)."""

    def __init__(self) -> None:
        super().__init__("full")


def DecodingPress(  # noqa: N802 - upstream's class name
    base_press: Press, compression_interval: int = 512, target_size: int = 2048, hidden_states_buffer_size: int = 256
) -> Press:
    """Upstream's ``DecodingPress``: ``base_press`` applied during decoding, pruning the cache to
    ``target_size`` slots every ``compression_interval`` steps. ``hidden_states_buffer_size`` is
    accepted for compatibility (the engine keeps what each press needs itself)."""
    del hidden_states_buffer_size
    return Press(
        base_press.name,
        compression_ratio=base_press.compression_ratio,
        cache_budget=base_press.cache_budget,
        compression_interval=compression_interval,
        target_size=target_size,
        **base_press.params,
    )


def budget_of(press: Optional[Press]) -> Mapping[str, Any]:
    """The budget keywords of ``press`` (zeros for None)."""
    if press is None:
        return {"compression_ratio": 0.0, "cache_budget": 0, "compression_interval": 0, "target_size": 0}
    return {
        "compression_ratio": press.compression_ratio,
        "cache_budget": press.cache_budget,
        "compression_interval": press.compression_interval,
        "target_size": press.target_size,
    }
