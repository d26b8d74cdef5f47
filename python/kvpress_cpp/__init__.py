"""kvpress_cpp: the kvpress pipeline API on the kvpress.cpp engine.

A script written for upstream kvpress switches engines by changing its imports and model
loading (docs/PYTHON.md)::

    from kvpress_cpp import pipeline, KnormPress

    pipe = pipeline("kv-press-text-generation", model="Qwen/Qwen2.5-0.5B-Instruct")
    print(pipe(context, question=question, press=KnormPress(compression_ratio=0.5))["answer"])

Everything runs in native code with the GIL released; Ctrl-C stops a call cleanly.
"""

from __future__ import annotations

from . import errors, presses
from ._core import Dataset, RunConfig
from .errors import (
    BadInputError,
    DataLossError,
    FailedPreconditionError,
    InternalError,
    KvpressError,
    NotFoundError,
    UnimplementedError,
    UsageError,
)
from .harness import Session, eval, sweep
from .pipeline import PIPELINE_TASK, Model, TextGenerationPipeline, TextStream, pipeline
from .presses import (
    DecodingPress,
    FullPress,
    H2OPress,
    KeyDiffPress,
    KnormPress,
    LagKVPress,
    ObservedAttentionPress,
    Press,
    RandomPress,
    RKVLSHPress,
    RKVPress,
    SnapKVDecodingPress,
    SnapKVPress,
    StreamingLLMPress,
    TOVAPress,
)

__version__ = "0.1.0"

__all__ = [
    "Model",
    "pipeline",
    "PIPELINE_TASK",
    "TextGenerationPipeline",
    "TextStream",
    "Session",
    "eval",
    "sweep",
    "RunConfig",
    "Dataset",
    "presses",
    "errors",
    "Press",
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
    "KvpressError",
    "UsageError",
    "BadInputError",
    "NotFoundError",
    "DataLossError",
    "UnimplementedError",
    "FailedPreconditionError",
    "InternalError",
]
