"""The reasoning harness from Python: ``kvpress eval`` and ``kvpress sweep`` as functions, and a
step-by-step :class:`Session` for research code that needs logits or the positions a press kept.

``eval`` and ``sweep`` write the same result files as the CLI (``<output_dir>/<stem>.jsonl`` and
``<stem>_score.json``), resume the same way, and return their rows as dicts.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from . import _core
from .errors import FailedPreconditionError, KvpressError
from .pipeline import Model, _check_range
from .presses import Press

__all__ = ["Session", "eval", "sweep"]

ProgressArg = Union[bool, Callable[[Dict[str, Any]], None], None]


class Session:
    """One KV cache driven step by step: prefill ids (compressed by ``press`` in the "prefill"
    phase, not in the "question" phase), read the logits, decode, and inspect what was kept.

    Args:
        model: a :class:`Model`.
        press: a press (its budget is used unless ``cache_budget`` / ``compression_ratio`` /
            ``compression_interval`` / ``target_size`` are given here).
        seed: for random presses.
        kv_dtype: KV storage (f32, f16, bf16).
        prefill_chunk: > 0: prefill in pieces of that many tokens, compressing after each.
        threads: worker threads (0 = physical cores).
    """

    def __init__(
        self,
        model: Model,
        press: Optional[Press] = None,
        *,
        cache_budget: Optional[int] = None,
        compression_ratio: Optional[float] = None,
        compression_interval: Optional[int] = None,
        target_size: Optional[int] = None,
        seed: int = 0,
        kv_dtype: str = "f32",
        prefill_chunk: int = 0,
        threads: int = 0,
    ) -> None:
        budget = {
            "cache_budget": press.cache_budget if press else 0,
            "compression_ratio": press.compression_ratio if press else 0.0,
            "compression_interval": press.compression_interval if press else 0,
            "target_size": press.target_size if press else 0,
        }
        for key, value in (
            ("cache_budget", cache_budget),
            ("compression_ratio", compression_ratio),
            ("compression_interval", compression_interval),
            ("target_size", target_size),
        ):
            if value is not None:
                budget[key] = value
        _check_range("cache_budget", budget["cache_budget"], 0)
        _check_range("compression_ratio", budget["compression_ratio"], 0, 0.999999)
        _check_range("compression_interval", budget["compression_interval"], 0)
        _check_range("target_size", budget["target_size"], 0)
        _check_range("prefill_chunk", prefill_chunk, 0)
        _check_range("threads", threads, 0)
        _check_range("seed", seed, 0)
        self.model = model
        self._core = _core.Session(
            model._core,
            press.spec if press else "",
            int(budget["cache_budget"]),
            float(budget["compression_ratio"]),
            int(budget["compression_interval"]),
            int(budget["target_size"]),
            int(seed),
            kv_dtype,
            int(prefill_chunk),
            int(threads),
        )

    def prefill(self, tokens: Union[str, Sequence[int]], phase: str = "prefill", add_special: bool = True):
        """Forwards ``tokens`` (ids, or text tokenized with ``add_special``) at the next positions.

        Returns:
            numpy.ndarray float32 [vocab_size]: the logits of the last token.
        """
        ids = self.model.tokenize(tokens, add_special) if isinstance(tokens, str) else [int(t) for t in tokens]
        return self._core.prefill(ids, phase)

    def decode(self, max_new_tokens: int = 256, **sampling: Any) -> Dict[str, Any]:
        """Samples from the last logits (greedy by default) until EOS, a stop criterion or
        ``max_new_tokens``. Keywords: temperature, top_p, top_k, min_p, repetition_penalty, seed,
        stop, stop_on_repetition. Returns ``{"tokens", "text", "finish_reason"}``. The last token
        is not forwarded: prefill it (phase="question") to go on."""
        _check_range("max_new_tokens", max_new_tokens, 0)
        return self._core.decode(max_new_tokens, **sampling)

    def kept_positions(self, layer: Optional[int] = None):
        """Absolute positions held in the cache: for ``layer``, a list over KV heads of int32
        numpy arrays (ascending); for None, that list for every layer."""
        return self._core.kept_positions(-1 if layer is None else layer)

    @property
    def logits(self):
        """The last prefill's logits (numpy float32 [vocab_size]); None after decode()."""
        return self._core.logits

    @property
    def kept_per_layer(self) -> List[int]:
        """Slots held per layer (max over KV heads)."""
        return self._core.kept_per_layer

    @property
    def metrics(self) -> Dict[str, Any]:
        """Run metrics so far (keys as ``kvpress generate --json``)."""
        return self._core.metrics

    @property
    def next_position(self) -> int:
        return self._core.next_position

    @property
    def history(self) -> List[int]:
        """Every id prefilled or generated, in order."""
        return self._core.history


def _settings(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The engine settings dict from eval/sweep keywords (presses and models as their names)."""
    out: Dict[str, Any] = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        if key == "press" and isinstance(value, Press):
            value = value.spec
        if key == "model" and isinstance(value, Model):
            value = value.name
        out[key] = value
    return out


def _progress_printer(label: str) -> Callable[[Dict[str, Any]], None]:
    last = [-1]

    def show(p: Dict[str, Any]) -> None:
        total = max(1, p["total"])
        decile = 10 * p["done"] // total
        if decile > last[0] or p["done"] == p["total"]:
            last[0] = decile
            acc = p["correct"] / p["done"] if p["done"] else 0.0
            print(
                f"{label} {p['done']}/{p['total']} acc {acc:.3f} | {p['tokens_per_second']:.1f} tok/s",
                file=sys.stderr,
                flush=True,
            )

    return show


def _read_rows(path: str) -> List[Dict[str, Any]]:
    rows = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows


def _run_cell(config: "_core.RunConfig", dataset: "_core.Dataset", model: Model, progress: ProgressArg) -> Dict[str, Any]:
    if progress is True:
        c = config.to_dict()
        callback: Optional[Callable[[Dict[str, Any]], None]] = _progress_printer(
            f"{c['dataset']} {c['press'].split(':')[0]} b{c['cache_budget']}"
        )
    elif callable(progress):
        callback = progress
    else:
        callback = None
    outcome = _core.run_eval(config, dataset, model._core, callback)
    outcome["config"] = config.to_dict()
    outcome["rows"] = _read_rows(outcome["result_path"])
    return outcome


def eval(  # noqa: A001 - the CLI's command name
    dataset: str,
    model: Union[Model, str, None] = None,
    press: Union[Press, str] = "knorm",
    cache_budget: Optional[int] = None,
    *,
    tokenizer: Optional[str] = None,
    progress: ProgressArg = True,
    **settings: Any,
) -> Dict[str, Any]:
    """One eval run (``kvpress eval``): dataset x model x press x budget.

    Args:
        dataset: dataset key (gsm8k, math500, aime24, ..., jsonl).
        model: a :class:`Model` or what :meth:`Model.load` takes (None: the bundled model).
        press: a press object or a spec (``"snapkv_d:window=8"``, ``"full"``).
        cache_budget: slots per KV head per layer (default: the press object's when it has one,
            else 512 as the CLI).
        tokenizer: tokenizer path when ``model`` is loaded here.
        progress: True prints a line per 10% to stderr; a callable gets
            ``{"done", "total", "correct", "tokens_per_second", "output_tokens"}``.
        **settings: the CLI's other eval flags in snake_case: data_file, data_dir, data_split,
            num_samples, fraction, seed, max_new_tokens, max_context_length, prefill_chunk,
            do_sampling, output_dir, resume, protocol, scoring, batch_size, threads, kv_dtype.

    Returns:
        ``{"summary": <the score file>, "rows": [<one dict per sample>], "result_path",
        "score_path", "reused", "generated", "already_finished", "config"}``.

    Raises:
        FailedPreconditionError: another process is running this eval (its lock is held);
        UsageError / BadInputError as the CLI; KeyboardInterrupt on Ctrl-C (the rows so far are
        kept: rerun with ``resume=True``).
    """
    if cache_budget is None and isinstance(press, Press) and press.cache_budget:
        cache_budget = press.cache_budget
    if not isinstance(model, Model):
        model = Model.load(model, tokenizer=tokenizer)
    config = _core.RunConfig(
        _settings(dict(dataset=dataset, model=model, press=press, cache_budget=cache_budget, **settings))
    )
    ds = _core.Dataset.load(config.dataset, config.data_file, config.data_dir, config.data_split)
    outcome = _run_cell(config, ds, model, progress)
    if outcome["busy"]:
        raise FailedPreconditionError(
            f"another kvpress process is running this eval (it holds {outcome['lock_path']})", "FailedPrecondition"
        )
    return outcome


def sweep(
    models: Optional[Sequence[Union[Model, str]]] = None,
    datasets: Optional[Sequence[str]] = None,
    presses: Optional[Sequence[Union[Press, str]]] = None,
    budgets: Optional[Sequence[int]] = None,
    *,
    config: Optional[str] = None,
    data_files: Optional[Sequence[str]] = None,
    shard: str = "1/1",
    dry_run: bool = False,
    tokenizer: Optional[str] = None,
    progress: ProgressArg = True,
    **settings: Any,
) -> List[Dict[str, Any]]:
    """A grid of eval runs (``kvpress sweep``): models x datasets x presses x budgets.

    Cells whose score file exists are skipped, unfinished ones resume, ``shard="I/N"`` takes every
    N-th cell. ``config`` is a YAML/JSON sweep file; keywords given here override its settings.
    ``data_files``: ``KEY=PATH`` (or PATH with one dataset). Other keywords as :func:`eval`.

    Returns:
        One dict per cell of the shard, in order: index, stem, model, dataset, press, cache_budget,
        status ("finished", "already_finished", "busy", "failed" or "planned" with dry_run),
        error (when failed), result_path, score_path and the score file's keys (accuracy, ...).
    """
    loaded: Dict[str, Model] = {}
    for m in models or []:
        if isinstance(m, Model):
            loaded[m.name] = m
    names = [m.name if isinstance(m, Model) else m for m in (models or [])]
    specs = [p.spec if isinstance(p, Press) else p for p in (presses or [])]
    cells = _core.expand_sweep(
        _settings(settings), names, list(datasets or []), specs, [int(b) for b in budgets or []],
        list(data_files or []), config or "", shard,
    )
    rows: List[Dict[str, Any]] = []
    data_cache: Dict[str, Any] = {}
    for i, (index, cell) in enumerate(cells):
        c = cell.to_dict()
        row: Dict[str, Any] = {
            "index": index, "stem": cell.stem, "model": c["model"], "dataset": c["dataset"], "press": c["press"],
            "cache_budget": c["cache_budget"],
        }
        rows.append(row)
        if dry_run:
            row["status"] = "planned"
            continue
        if progress:
            print(f"[cell {i + 1}/{len(cells)}] {c['dataset']} {c['press']} b{c['cache_budget']}", file=sys.stderr, flush=True)
        # As the CLI: a model or dataset that cannot be loaded stops the sweep; a failed run is
        # recorded and the sweep goes on.
        model = loaded.get(c["model"])
        if model is None:
            model = loaded[c["model"]] = Model.load(c["model"], tokenizer=tokenizer)
        key = f"{c['dataset']}={c['data_file']}"
        if key not in data_cache:
            data_cache[key] = _core.Dataset.load(c["dataset"], c["data_file"], c["data_dir"], c["data_split"])
        try:
            outcome = _run_cell(cell, data_cache[key], model, progress)
        except KvpressError as e:
            row.update(status="failed", error=str(e))
            print(f"[cell {i + 1}/{len(cells)}] failed: {e}", file=sys.stderr, flush=True)
            continue
        row["result_path"], row["score_path"] = outcome["result_path"], outcome["score_path"]
        if outcome["busy"]:
            row["status"] = "busy"
        else:
            row["status"] = "already_finished" if outcome["already_finished"] else "finished"
            row.update(outcome["summary"] or {})
    return rows
