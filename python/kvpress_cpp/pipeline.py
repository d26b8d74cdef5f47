"""The text-generation pipeline: upstream kvpress's ``kv-press-text-generation`` on the engine.

Upstream::

    from transformers import pipeline
    from kvpress import KnormPress
    pipe = pipeline("kv-press-text-generation", model="Qwen/Qwen3-8B", device="cuda:0")
    answer = pipe(context, question=question, press=KnormPress(0.5))["answer"]

kvpress_cpp::

    from kvpress_cpp import pipeline, KnormPress
    pipe = pipeline("kv-press-text-generation", model="Qwen/Qwen3-8B")
    answer = pipe(context, question=question, press=KnormPress(0.5))["answer"]

The context is prefilled and compressed once; each question is prefilled on top of it without
compression and answered greedily (unless sampling is asked for); the compressed context is
restored before the next question. Settings have the names of ``kvpress generate``'s flags and
give the same tokens (tests/test_cli_parity.py).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from . import _core
from .errors import UsageError
from .presses import Press, budget_of

__all__ = ["Model", "TextGenerationPipeline", "TextStream", "pipeline", "PIPELINE_TASK"]

#: The task name upstream registers with transformers' ``pipeline``.
PIPELINE_TASK = "kv-press-text-generation"


class Model:
    """A model loaded with its tokenizer and chat template, ready for many calls.

    Use :meth:`load`. The underlying weights are memory-mapped and shared by every pipeline,
    session and eval using this object.
    """

    def __init__(self, core: "_core.Model") -> None:
        self._core = core

    @classmethod
    def load(
        cls,
        path_or_hf_id: Optional[str] = None,
        *,
        tokenizer: Optional[str] = None,
        check_weights: bool = True,
        mmap: bool = False,
    ) -> "Model":
        """Loads a model as ``kvpress generate --model`` does.

        Args:
            path_or_hf_id: a Hugging Face directory (config.json + safetensors), a GGUF file, a
                llama2.c ``.bin``, or a Hugging Face id ``org/name[@revision]`` (resolved in the HF
                cache, downloaded when missing; ``HF_TOKEN`` / ``HF_HUB_OFFLINE`` honoured). None or
                ``"tiny-reasoner"``: the bundled tiny reasoning model.
            tokenizer: a tokenizer path (default: found with the model; llama2.c checkpoints find
                ``tokenizer.bin`` / ``tok512.bin`` beside them).
            check_weights: refuse weights holding NaN/Inf (``--no-check`` turns it off).
            mmap: read the weights in place from the file mapping (shared, evictable) instead of
                copying them into huge-page memory, which decodes faster (``--mmap``).

        Raises:
            NotFoundError, DataLossError, UnimplementedError: with the CLI's message.
        """
        return cls(_core.Model.load(path_or_hf_id or "", tokenizer or "", check_weights, mmap))

    @property
    def name(self) -> str:
        """What was loaded, as given (``"tiny-reasoner"`` for the bundled model); names eval files."""
        return self._core.name

    @property
    def path(self) -> str:
        """The resolved location (the snapshot directory for a Hugging Face id)."""
        return self._core.path

    @property
    def config(self) -> Dict[str, Any]:
        """Architecture and sizes: n_layers, n_heads, n_kv_heads, head_dim, vocab_size, ..."""
        return self._core.config

    @property
    def has_chat_template(self) -> bool:
        return self._core.has_chat_template

    @property
    def weights_in_huge_pages(self) -> bool:
        """Whether the weights were copied into huge pages (False with ``mmap=True``, or when the
        kernel grants none or memory is short: they are then read from the file mapping)."""
        return self._core.weights_in_huge_pages

    def tokenize(self, text: str, add_special: bool = True) -> List[int]:
        """Token ids of ``text`` (``add_special``: BOS and the tokenizer's other special tokens)."""
        return self._core.tokenize(text, add_special)

    def detokenize(self, ids: Sequence[int]) -> str:
        """The text of ``ids``."""
        return self._core.detokenize(list(ids))

    def __repr__(self) -> str:
        c = self.config
        return f"Model({self.name!r}, {c['architecture']}, {c['n_layers']} layers)"


def _check_range(name: str, value: float, lo: float, hi: float = math.inf, exclude_lo: bool = False) -> None:
    if not math.isfinite(value) or value < lo or (exclude_lo and value == lo) or value > hi:
        if hi == math.inf:
            raise UsageError(f"{name}: {value} must be {'>' if exclude_lo else '>='} {lo:g}", "InvalidArgument")
        left = "(" if exclude_lo else "["
        raise UsageError(f"{name}: {value} is outside {left}{lo:g}, {hi:g}]", "InvalidArgument")


_KV_DTYPES = ("f32", "f16", "bf16")


def _build_request(
    *,
    context: Optional[str] = None,
    question: Optional[str] = None,
    questions: Optional[Sequence[str]] = None,
    prompt: Optional[str] = None,
    prompt_ids: Optional[Sequence[int]] = None,
    answer_prefix: Optional[str] = "",
    press: Optional[Press] = None,
    cache_budget: Optional[int] = None,
    compression_ratio: Optional[float] = None,
    compression_interval: Optional[int] = None,
    target_size: Optional[int] = None,
    max_new_tokens: int = 50,
    max_context_length: Optional[int] = None,
    chat: Optional[bool] = None,
    enable_thinking: Optional[bool] = False,
    add_bos: bool = True,
    temperature: float = 0.0,
    top_p: float = 1.0,
    top_k: int = 0,
    min_p: float = 0.0,
    repetition_penalty: float = 1.0,
    seed: int = 0,
    stop: Optional[Sequence[str]] = None,
    stop_on_repetition: bool = False,
    prefill_chunk: int = 0,
    kv_dtype: str = "f32",
    eviction_log: Optional[str] = None,
    threads: int = 0,
    cache: Any = None,
) -> "_core.GenerateRequest":
    """The engine request for one call; parameter checks as the CLI's flag checks."""
    if cache is not None:
        raise UsageError("cache: the engine keeps its own KV cache; choose its storage with kv_dtype=", "InvalidArgument")
    if question is not None and questions is not None:
        raise UsageError("give either question= or questions=, not both", "InvalidArgument")
    forms = sum(x is not None for x in (prompt, prompt_ids)) + (context is not None or question is not None or questions is not None)
    if forms > 1:
        raise UsageError("give one of prompt=, prompt_ids= or a context with questions", "InvalidArgument")
    if press is not None and not isinstance(press, Press):
        raise UsageError(f"press: expected a kvpress_cpp press, got {type(press).__name__}", "InvalidArgument")
    budget = dict(budget_of(press))
    for key, value in (
        ("cache_budget", cache_budget),
        ("compression_ratio", compression_ratio),
        ("compression_interval", compression_interval),
        ("target_size", target_size),
    ):
        if value is not None:
            budget[key] = value
    _check_range("max_new_tokens", max_new_tokens, 0)
    _check_range("temperature", temperature, 0)
    _check_range("top_p", top_p, 0, 1)
    _check_range("top_k", top_k, 0)
    _check_range("min_p", min_p, 0, 1)
    _check_range("repetition_penalty", repetition_penalty, 0, exclude_lo=True)
    _check_range("seed", seed, 0)
    _check_range("cache_budget", budget["cache_budget"], 0)
    _check_range("compression_ratio", budget["compression_ratio"], 0, 0.999999)
    _check_range("compression_interval", budget["compression_interval"], 0)
    _check_range("target_size", budget["target_size"], 0)
    _check_range("prefill_chunk", prefill_chunk, 0)
    _check_range("max_context_length", max_context_length or 0, 0)
    _check_range("threads", threads, 0)
    if kv_dtype not in _KV_DTYPES:
        raise UsageError(f"kv_dtype: '{kv_dtype}' is not one of f32, f16, bf16", "InvalidArgument")

    r = _core.GenerateRequest()
    if prompt is not None:
        r.has_prompt, r.prompt = True, prompt
    elif prompt_ids is not None:
        r.has_prompt_ids, r.prompt_ids = True, [int(i) for i in prompt_ids]
    else:
        r.pipeline = True
        r.context = context or ""
        if questions is not None:
            if isinstance(questions, str):
                raise UsageError("questions: expected a list of strings, got a string", "InvalidArgument")
            r.questions = list(questions)
        elif question is not None:
            r.questions = [question]
    r.answer_prefix = answer_prefix or ""
    r.chat = "auto" if chat is None else ("on" if chat else "off")
    r.enable_thinking = enable_thinking
    r.max_context_length = int(max_context_length or 0)
    r.add_bos = add_bos
    r.max_new_tokens = int(max_new_tokens)
    r.temperature, r.top_p, r.top_k, r.min_p = float(temperature), float(top_p), int(top_k), float(min_p)
    r.repetition_penalty, r.seed = float(repetition_penalty), int(seed)
    r.stop = list(stop or [])
    r.stop_on_repetition = stop_on_repetition
    r.press = press.spec if press is not None else ""
    r.cache_budget = int(budget["cache_budget"])
    r.compression_ratio = float(budget["compression_ratio"])
    r.compression_interval = int(budget["compression_interval"])
    r.target_size = int(budget["target_size"])
    r.prefill_chunk = int(prefill_chunk)
    r.kv_dtype = kv_dtype
    r.eviction_log = eviction_log or ""
    r.threads = int(threads)
    return r


def _shape_result(raw: Dict[str, Any], many: bool) -> Dict[str, Any]:
    """Upstream's {"answer"} / {"answers"} plus the engine's metrics and per-answer details."""
    if "answers" not in raw:
        return raw  # a plain prompt: the CLI's --json object (text, tokens, ...)
    out: Dict[str, Any] = {}
    texts = [a["text"] for a in raw["answers"]]
    if many:
        out["answers"] = texts
    else:
        out["answer"] = texts[0]
    out["metrics"] = raw["metrics"]
    out["prompt_tokens"] = raw["prompt_tokens"]
    out["details"] = raw["answers"]
    return out


class TextStream:
    """Text of a running generation, piece by piece (iterate it).

    ``answer_index`` is the index of the question the last piece answers; ``result`` holds the
    same dict the blocking call returns once the iteration has ended. Leaving the loop early (or
    :meth:`close`) stops the generation. Ctrl-C stops it and raises KeyboardInterrupt.
    """

    def __init__(self, core: "_core.TextStream", many: bool) -> None:
        self._core = core
        self._many = many
        self.answer_index = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        index, piece = next(self._core)
        self.answer_index = index
        return piece

    def close(self) -> None:
        """Stops the generation (finish_reason "cancelled") and waits for it."""
        self._core.close()

    @property
    def result(self) -> Optional[Dict[str, Any]]:
        raw = self._core.result
        return None if raw is None else _shape_result(raw, self._many)

    def __enter__(self) -> "TextStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._core.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class TextGenerationPipeline:
    """Context + questions generation with a press (upstream's ``KVPressTextGenerationPipeline``).

    Call it as upstream's: ``pipe(context, question=..., press=...)``. Defaults are upstream's
    (greedy, ``max_new_tokens=50``, ``enable_thinking=False``); every ``kvpress generate`` flag is
    a keyword with the same meaning (``cache_budget``, ``compression_ratio``, ``temperature``,
    ``top_p``, ``stop``, ``kv_dtype``, ``prefill_chunk``, ``chat``, ...).
    """

    def __init__(self, model: Model, threads: int = 0, kv_dtype: str = "f32") -> None:
        self.model = model
        self.threads = threads
        self.kv_dtype = kv_dtype

    def _request(self, kwargs: Dict[str, Any]) -> "_core.GenerateRequest":
        kwargs.setdefault("threads", self.threads)
        kwargs.setdefault("kv_dtype", self.kv_dtype)
        return _build_request(**kwargs)

    def __call__(
        self,
        context: str = "",
        question: Optional[str] = None,
        questions: Optional[Sequence[str]] = None,
        answer_prefix: Optional[str] = "",
        press: Optional[Press] = None,
        max_new_tokens: int = 50,
        max_context_length: Optional[int] = None,
        cache: Any = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Answers ``question`` (or each of ``questions``) about ``context``.

        Returns:
            ``{"answer": str}`` for one question (or none: a plain continuation of the context),
            ``{"answers": [str, ...]}`` for ``questions=``; both with ``"metrics"`` (the run: the
            context once and every question; keys as ``kvpress generate --json``),
            ``"prompt_tokens"`` and ``"details"`` (per answer: question, text, tokens,
            finish_reason, metrics, kept_per_layer).

        Raises:
            UsageError / BadInputError: as the CLI; KeyboardInterrupt on Ctrl-C.
        """
        request = self._request(
            dict(
                context=context, question=question, questions=questions, answer_prefix=answer_prefix, press=press,
                max_new_tokens=max_new_tokens, max_context_length=max_context_length, cache=cache, **kwargs,
            )
        )
        return _shape_result(_core.generate(self.model._core, request), questions is not None)

    def stream(
        self,
        context: Optional[str] = None,
        question: Optional[str] = None,
        questions: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> TextStream:
        """Like calling the pipeline (or :meth:`generate` when ``prompt=`` / ``prompt_ids=`` is
        given), but returns the text as it is generated: ``for piece in pipe.stream(...)``."""
        kwargs.setdefault("max_new_tokens", 50)
        if context is None and question is None and questions is None and "prompt" not in kwargs and "prompt_ids" not in kwargs:
            context = ""
        request = self._request(dict(context=context, question=question, questions=questions, **kwargs))
        return TextStream(_core.TextStream(self.model._core, request), questions is not None)

    def generate(
        self,
        prompt: Optional[str] = None,
        *,
        prompt_ids: Optional[Sequence[int]] = None,
        press: Optional[Press] = None,
        max_new_tokens: int = 256,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """A plain prompt (``kvpress generate --prompt``; BOS prepended unless ``add_bos=False``)
        or token ids (``--prompt-ids``), compressed as a whole by ``press``.

        Returns the CLI's ``--json`` object: text, tokens, prompt_tokens, finish_reason, metrics,
        kept_per_layer.
        """
        if prompt is None and prompt_ids is None:
            raise UsageError("no prompt: give prompt=TEXT or prompt_ids=IDS", "InvalidArgument")
        request = self._request(
            dict(prompt=prompt, prompt_ids=prompt_ids, press=press, max_new_tokens=max_new_tokens, **kwargs)
        )
        return _core.generate(self.model._core, request)


def pipeline(
    task: Union[str, Model, None] = None,
    model: Union[str, Model, None] = None,
    *,
    tokenizer: Optional[str] = None,
    threads: int = 0,
    kv_dtype: str = "f32",
    check_weights: bool = True,
    **ignored: Any,
) -> TextGenerationPipeline:
    """A :class:`TextGenerationPipeline` on ``model``.

    Accepts upstream's call unchanged, ``pipeline("kv-press-text-generation", model=..., device=...,
    torch_dtype=..., model_kwargs=...)`` (device/dtype settings are ignored: the engine runs on the
    CPU with the weights' own dtype), or simply ``pipeline(model)``.

    Args:
        task: ``"kv-press-text-generation"``, or the model itself.
        model: a :class:`Model`, or what :meth:`Model.load` takes (None: the bundled model).
        tokenizer: a tokenizer path, when ``model`` is loaded here.
        threads: worker threads (0 = the physical cores).
        kv_dtype: KV cache storage for every call (f32, f16, bf16); a call may override it.
    """
    if isinstance(task, str) and task != PIPELINE_TASK and model is None:
        model, task = task, None  # pipeline("path/to/model")
    elif isinstance(task, Model):
        model, task = task, None
    elif task is not None and task != PIPELINE_TASK:
        raise UsageError(f"task: '{task}' is not {PIPELINE_TASK!r}", "InvalidArgument")
    if isinstance(tokenizer, str) or tokenizer is None:
        tokenizer_path = tokenizer
    else:
        tokenizer_path = None  # a transformers tokenizer object: the engine uses its own
    if not isinstance(model, Model):
        model = Model.load(model, tokenizer=tokenizer_path, check_weights=check_weights)
    if kv_dtype not in _KV_DTYPES:
        raise UsageError(f"kv_dtype: '{kv_dtype}' is not one of f32, f16, bf16", "InvalidArgument")
    _check_range("threads", threads, 0)
    return TextGenerationPipeline(model, threads=threads, kv_dtype=kv_dtype)
