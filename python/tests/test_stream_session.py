"""Streaming (pieces add up to the blocking call's answers) and the step-by-step Session (numpy
logits and kept positions checked against what the presses' definitions say)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import kvpress_cpp as kv
from conftest import THREADS

pytestmark = pytest.mark.model

CONTEXT = "k=4, c=2, q=3, a=0, g=1. "


def test_stream_pieces_make_the_answer(tiny):
    pipe = kv.pipeline(tiny, threads=THREADS)
    press = kv.KnormPress(cache_budget=12)
    whole = pipe(CONTEXT, question="Find a+c.", press=press, max_new_tokens=40)
    stream = pipe.stream(CONTEXT, question="Find a+c.", press=press, max_new_tokens=40)
    pieces = list(stream)
    assert len(pieces) > 1
    assert "".join(pieces) == whole["answer"]
    assert stream.result["answer"] == whole["answer"]
    assert stream.result["details"][0]["tokens"] == whole["details"][0]["tokens"]


def test_stream_tells_the_answers_apart(tiny):
    pipe = kv.pipeline(tiny, threads=THREADS)
    questions = ["Find a+c.", "Find k+q."]
    whole = pipe(CONTEXT, questions=questions, max_new_tokens=40)
    stream = pipe.stream(CONTEXT, questions=questions, max_new_tokens=40)
    texts = ["", ""]
    for piece in stream:
        texts[stream.answer_index] += piece
    assert texts == whole["answers"]


def test_stream_of_a_plain_prompt(stories):
    pipe = kv.pipeline(stories, threads=THREADS)
    whole = pipe.generate("Once upon a time", max_new_tokens=50)
    assert "".join(pipe.stream(prompt="Once upon a time", max_new_tokens=50)) == whole["text"]


def test_closing_a_stream_stops_the_generation(stories):
    pipe = kv.pipeline(stories, threads=THREADS)
    with pipe.stream(prompt="Once upon a time", max_new_tokens=200) as stream:
        next(stream)
    stream.close()  # idempotent
    result = stream.result
    assert result is not None
    assert result["finish_reason"] in ("cancelled", "stop", "length")
    assert len(result["tokens"]) <= 200


def test_session_logits_are_numpy_and_match_generation(stories):
    golden = kv.pipeline(stories, threads=THREADS).generate(prompt_ids=[1], max_new_tokens=20)
    s = kv.Session(stories, threads=THREADS)
    logits = s.prefill([1])
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
    assert logits.shape == (stories.config["vocab_size"],)
    assert np.isfinite(logits).all()
    assert int(np.argmax(logits)) == golden["tokens"][0]
    out = s.decode(max_new_tokens=20)
    assert out["tokens"] == golden["tokens"]
    assert s.logits is None
    assert s.history == [1] + golden["tokens"]


def test_session_streaming_llm_keeps_the_sinks_and_the_most_recent(tiny):
    """StreamingLLM's definition: n_sink first positions + the most recent budget - n_sink."""
    budget, n_sink = 10, 3
    s = kv.Session(tiny, kv.StreamingLLMPress(n_sink=n_sink, cache_budget=budget), threads=THREADS)
    ids = tiny.tokenize(CONTEXT + "Find a+c.")
    s.prefill(ids)
    n = len(ids)
    want = list(range(n_sink)) + list(range(n - (budget - n_sink), n))
    layers = s.kept_positions()
    assert len(layers) == tiny.config["n_layers"]
    for heads in layers:
        assert len(heads) == tiny.config["n_kv_heads"]
        for positions in heads:
            assert positions.dtype == np.int32
            assert positions.tolist() == want
    assert s.kept_per_layer == [budget] * tiny.config["n_layers"]


def test_session_knorm_keeps_budget_slots_per_head_in_position_order(tiny):
    """With a budget every KV head holds exactly `budget` prompt positions, ascending; without a
    press the cache holds every position."""
    ids = tiny.tokenize(CONTEXT + "Find k+q.")
    budget = 8
    s = kv.Session(tiny, kv.KnormPress(cache_budget=budget), threads=THREADS)
    s.prefill(ids)
    for layer in range(tiny.config["n_layers"]):
        for positions in s.kept_positions(layer):
            assert len(positions) == budget
            assert np.all(np.diff(positions) > 0), "kept slots stay in ascending position order"
            assert positions.min() >= 0 and positions.max() < len(ids)
    full = kv.Session(tiny, threads=THREADS)
    full.prefill(ids)
    assert all(p.tolist() == list(range(len(ids))) for p in full.kept_positions(0))


def test_session_question_phase_is_not_compressed(tiny):
    s = kv.Session(tiny, kv.KnormPress(cache_budget=6), threads=THREADS)
    s.prefill(tiny.tokenize(CONTEXT))
    assert s.kept_per_layer == [6] * tiny.config["n_layers"]
    q = tiny.tokenize("Find g.<|assistant|>", add_special=False)
    s.prefill(q, phase="question")
    assert s.kept_per_layer == [6 + len(q)] * tiny.config["n_layers"]
    assert s.next_position == len(tiny.tokenize(CONTEXT)) + len(q)


def test_session_errors(tiny):
    s = kv.Session(tiny)
    with pytest.raises(kv.FailedPreconditionError, match="prefill some tokens first"):
        s.decode()
    with pytest.raises(kv.UsageError, match="phase"):
        s.prefill([1], phase="later")
    with pytest.raises(kv.UsageError, match="outside the vocabulary"):
        s.prefill([10**6])
    with pytest.raises(kv.UsageError, match="need a press"):
        kv.Session(tiny, cache_budget=4)


def test_generation_releases_the_gil(tiny, tmp_path):
    """Another Python thread keeps running while the engine works."""
    pipe = kv.pipeline(tiny, threads=1)
    ticks = [0]
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    before = ticks[0]
    start = time.perf_counter()
    pipe("g=4, c=9 " * 45, questions=["Find g."] * 6, max_new_tokens=60)
    elapsed = time.perf_counter() - start
    done.set()
    t.join()
    # Holding the GIL for the whole call would leave the ticker at most a switch interval or two.
    assert ticks[0] - before > max(5, elapsed * 100), (ticks[0] - before, elapsed)


def test_mmap_load_answers_as_the_huge_page_copy(tiny):
    mapped = kv.Model.load(mmap=True)
    assert not mapped.weights_in_huge_pages
    press = kv.KnormPress(cache_budget=12)
    a = kv.pipeline(tiny, threads=THREADS)(CONTEXT, question="Find a+c.", press=press, max_new_tokens=24)
    b = kv.pipeline(mapped, threads=THREADS)(CONTEXT, question="Find a+c.", press=press, max_new_tokens=24)
    assert a["details"][0]["tokens"] == b["details"][0]["tokens"]
