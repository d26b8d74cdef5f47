"""The Python pipeline against `kvpress generate --json`: same prompts, presses and budgets give the
same tokens, text and finish reasons, on the bundled tiny-reasoner and on stories260K."""

from __future__ import annotations

import json

import pytest

import kvpress_cpp as kv
from conftest import THREADS, shared

pytestmark = pytest.mark.model

CONTEXT = "k=4, c=2, q=3, a=0, g=1. "
QUESTIONS = ["Find a+c.", "Find k+q.", "Find g."]


def cli_pipeline_args(context, questions, max_new_tokens, extra=()):
    args = ["generate", "--context", context, "--max-new-tokens", str(max_new_tokens), "--threads", str(THREADS),
            "--enable-thinking", "false"]
    for q in questions:
        args += ["--question", q]
    return args + list(extra)


def assert_same_answers(py_result, cli_result, questions):
    assert len(py_result["details"]) == len(cli_result["answers"])
    for mine, theirs in zip(py_result["details"], cli_result["answers"]):
        assert mine["tokens"] == theirs["tokens"]
        assert mine["text"] == theirs["text"]
        assert mine["finish_reason"] == theirs["finish_reason"]
        assert mine["kept_per_layer"] == theirs["kept_per_layer"]
    assert py_result["prompt_tokens"] == cli_result["prompt_tokens"]
    texts = [a["text"] for a in cli_result["answers"]]
    if len(questions) == 1:
        assert py_result["answer"] == texts[0]
    else:
        assert py_result["answers"] == texts


# (press object, CLI flags) pairs: upstream class names and ours, both budget semantics.
TINY_CASES = [
    (None, []),
    (kv.KnormPress(cache_budget=12), ["--press", "knorm", "--cache-budget", "12"]),
    (kv.SnapKVPress(compression_ratio=0.5, window_size=4, kernel_size=3),
     ["--press", "snapkv:window=4,kernel=3", "--compression-ratio", "0.5"]),
    (kv.StreamingLLMPress(n_sink=2, cache_budget=10), ["--press", "streaming_llm:n_sink=2", "--cache-budget", "10"]),
    (kv.H2OPress(cache_budget=14), ["--press", "h2o", "--cache-budget", "14"]),
    (kv.SnapKVDecodingPress(cache_budget=16, window_size=4), ["--press", "snapkv_d:window=4,kernel=5", "--cache-budget", "16"]),
    (kv.RKVPress(cache_budget=12, window_size=4), ["--press", "rkv:window=4", "--cache-budget", "12"]),
]


@pytest.mark.parametrize("press,flags", TINY_CASES, ids=lambda x: x.spec if isinstance(x, kv.Press) else None)
def test_tiny_one_question_matches_cli(tiny, cli, press, flags):
    pipe = kv.pipeline("kv-press-text-generation", model=tiny, threads=THREADS)
    mine = pipe(CONTEXT, question=QUESTIONS[0], press=press, max_new_tokens=40)
    theirs = cli.json(cli_pipeline_args(CONTEXT, QUESTIONS[:1], 40, flags))
    assert_same_answers(mine, theirs, QUESTIONS[:1])
    assert mine["answer"].strip(), "the tiny reasoner answers something"


def test_tiny_questions_share_the_compressed_context(tiny, cli):
    pipe = kv.pipeline(tiny, threads=THREADS)
    press = kv.KnormPress(cache_budget=12)
    mine = pipe(CONTEXT, questions=QUESTIONS, press=press, max_new_tokens=40)
    theirs = cli.json(cli_pipeline_args(CONTEXT, QUESTIONS, 40, ["--press", "knorm", "--cache-budget", "12"]))
    assert_same_answers(mine, theirs, QUESTIONS)
    assert len(mine["answers"]) == 3
    # The context was prefilled once: the run counts it once plus each question's tokens.
    metrics = mine["metrics"]
    assert metrics["total_prefill_tokens"] == theirs["metrics"]["total_prefill_tokens"]
    assert metrics["total_decoding_tokens"] == sum(len(a["tokens"]) for a in theirs["answers"])


def test_call_budget_overrides_the_press_budget(tiny, cli):
    pipe = kv.pipeline(tiny, threads=THREADS)
    mine = pipe(CONTEXT, question=QUESTIONS[1], press=kv.KnormPress(cache_budget=30), cache_budget=9, max_new_tokens=30)
    theirs = cli.json(cli_pipeline_args(CONTEXT, QUESTIONS[1:2], 30, ["--press", "knorm", "--cache-budget", "9"]))
    assert_same_answers(mine, theirs, QUESTIONS[1:2])
    assert max(mine["details"][0]["kept_per_layer"]) <= 9


SETTING_CASES = [
    (dict(answer_prefix="a=", stop=[". "]), ["--answer-prefix", "a=", "--stop", ". "]),
    (dict(max_context_length=10), ["--max-context-length", "10"]),
    (dict(press=kv.SnapKVDecodingPress(cache_budget=12, window_size=4), prefill_chunk=5, kv_dtype="bf16"),
     ["--press", "snapkv_d:window=4", "--cache-budget", "12", "--prefill-chunk", "5", "--kv-dtype", "bf16"]),
    (dict(press=kv.DecodingPress(kv.KnormPress(), compression_interval=4, target_size=12)),
     ["--press", "knorm", "--compression-interval", "4", "--target-size", "12"]),
    (dict(chat=False, repetition_penalty=1.3), ["--no-chat", "--repetition-penalty", "1.3"]),
]


@pytest.mark.parametrize("settings,flags", SETTING_CASES)
def test_tiny_generate_flags_match_cli(tiny, cli, settings, flags):
    pipe = kv.pipeline(tiny, threads=THREADS)
    mine = pipe(CONTEXT, question=QUESTIONS[1], max_new_tokens=32, **settings)
    theirs = cli.json(cli_pipeline_args(CONTEXT, QUESTIONS[1:2], 32, flags))
    assert_same_answers(mine, theirs, QUESTIONS[1:2])


def test_tiny_sampling_matches_cli(tiny, cli):
    pipe = kv.pipeline(tiny, threads=THREADS)
    mine = pipe(CONTEXT, question=QUESTIONS[2], max_new_tokens=30, temperature=0.8, top_p=0.9, seed=7)
    theirs = cli.json(cli_pipeline_args(CONTEXT, QUESTIONS[2:], 30, ["--temperature", "0.8", "--top-p", "0.9", "--seed", "7"]))
    assert_same_answers(mine, theirs, QUESTIONS[2:])


def test_tiny_plain_prompt_matches_cli(tiny, cli):
    pipe = kv.pipeline(tiny, threads=THREADS)
    mine = pipe.generate("f=1, p=6, g=4. Find f+p.", press=kv.TOVAPress(cache_budget=10), max_new_tokens=24)
    theirs = cli.json(["generate", "--prompt", "f=1, p=6, g=4. Find f+p.", "--press", "tova", "--cache-budget", "10",
                       "--max-new-tokens", "24", "--threads", str(THREADS)])
    for key in ("text", "tokens", "prompt_tokens", "finish_reason", "kept_per_layer"):
        assert mine[key] == theirs[key], key
    assert set(mine["metrics"]) == set(theirs["metrics"])


def test_stories_greedy_matches_the_llama2c_golden(stories):
    golden = json.loads(shared("models/stories260K/greedy_t0_steps256.json").read_text())
    pipe = kv.pipeline(stories, threads=THREADS)
    out = pipe.generate(prompt_ids=[golden["bos_id"]], max_new_tokens=len(golden["generated_ids"]))
    assert out["tokens"] == golden["generated_ids"]


STORIES_CASES = [
    (None, []),
    (kv.KnormPress(cache_budget=24), ["--press", "knorm", "--cache-budget", "24"]),
    (kv.StreamingLLMPress(compression_ratio=0.4), ["--press", "streaming_llm:n_sink=4", "--compression-ratio", "0.4"]),
    (kv.LagKVPress(cache_budget=32, n_sink=2, lag_size=8), ["--press", "lagkv:n_sink=2,lag=8,cross_scoring=0", "--cache-budget", "32"]),
]


@pytest.mark.parametrize("press,flags", STORIES_CASES, ids=lambda x: x.spec if isinstance(x, kv.Press) else None)
def test_stories_matches_cli(stories, stories_path, cli, press, flags):
    pipe = kv.pipeline(stories, threads=THREADS)
    prompt = "Once upon a time, there was a little girl named Lily."
    mine = pipe.generate(prompt, press=press, max_new_tokens=60)
    theirs = cli.json(["generate", "--model", stories_path, "--prompt", prompt, "--max-new-tokens", "60",
                       "--threads", str(THREADS), *flags])
    for key in ("text", "tokens", "finish_reason", "kept_per_layer"):
        assert mine[key] == theirs[key], key
    # The pipeline form (no chat template: BOS + context, question + newline).
    mine = pipe("Lily had a red ball. She liked to play.", question="One day,", press=press, max_new_tokens=40)
    theirs = cli.json(["generate", "--model", stories_path, "--context", "Lily had a red ball. She liked to play.",
                       "--question", "One day,", "--max-new-tokens", "40", "--threads", str(THREADS),
                       "--enable-thinking", "false", *flags])
    assert_same_answers(mine, theirs, ["One day,"])
