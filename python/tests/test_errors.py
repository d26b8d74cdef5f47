"""Engine errors reach Python as exceptions carrying the CLI's message, with the class matching the
CLI's exit code."""

from __future__ import annotations

import pytest

import kvpress_cpp as kv
from conftest import THREADS


def test_missing_model_path_has_the_cli_message(cli, tmp_path):
    missing = str(tmp_path / "no-such-model")
    code, message = cli.error(["generate", "--model", missing, "--prompt", "hi"])
    with pytest.raises(kv.NotFoundError) as e:
        kv.Model.load(missing)
    assert str(e.value) == message
    assert e.value.exit_code == code == 2
    assert e.value.code == "NotFound"
    assert isinstance(e.value, ValueError) and isinstance(e.value, kv.KvpressError)


def test_corrupt_model_file_has_the_cli_message(cli, tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 12)
    code, message = cli.error(["generate", "--model", str(bad), "--prompt", "hi"])
    with pytest.raises(kv.BadInputError) as e:
        kv.Model.load(str(bad))
    assert str(e.value) == message
    assert e.value.exit_code == code


@pytest.mark.model
def test_missing_tokenizer_has_the_cli_message(cli, tmp_path):
    missing = str(tmp_path / "tok.json")
    code, message = cli.error(["generate", "--tokenizer", missing, "--prompt", "hi"])
    with pytest.raises(kv.KvpressError) as e:
        kv.Model.load(None, tokenizer=missing)
    assert str(e.value) == message
    assert e.value.exit_code == code


def test_bad_hub_id_offline_has_the_cli_message(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    code, message = cli.error(["generate", "--model", "nosuch-org/nosuch-model", "--prompt", "hi"])
    with pytest.raises(kv.KvpressError) as e:
        kv.Model.load("nosuch-org/nosuch-model")
    assert str(e.value) == message
    assert e.value.exit_code == code


@pytest.mark.model
@pytest.mark.parametrize("spec", ["nosuch", "snapkv:windw=4", "snapkv:window=0", "rkv:lambda=2", "lagkv:lag=1", "snapkv:window"])
def test_press_errors_have_the_cli_message(cli, spec):
    code, message = cli.error(["generate", "--prompt", "hi", "--press", spec])
    with pytest.raises(kv.KvpressError) as e:
        kv.presses.from_spec(spec)
    assert str(e.value) == message
    assert e.value.exit_code == code


@pytest.mark.model
def test_prompt_beyond_trained_positions(tiny):
    pipe = kv.pipeline(tiny, threads=THREADS)
    with pytest.raises(kv.FailedPreconditionError, match="was trained on 512 positions; pass max_context_length=N"):
        pipe("g=4, c=9 " * 400, question="Find g.")
    out = pipe("g=4, c=9 " * 400, question="Find g.", max_context_length=300, max_new_tokens=4)
    assert out["prompt_tokens"] == 300


@pytest.mark.model
@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"top_p": 1.5}, r"top_p: 1.5 is outside \[0, 1\]"),
        ({"temperature": float("nan")}, "temperature: nan must be >= 0"),
        ({"max_new_tokens": -1}, "max_new_tokens: -1 must be >= 0"),
        ({"compression_ratio": 1.0, "press": kv.KnormPress()}, r"compression_ratio: 1.0 is outside \[0, 0.999999\]"),
        ({"cache_budget": 8}, "need a press"),
        ({"kv_dtype": "f8"}, "kv_dtype: 'f8' is not one of f32, f16, bf16"),
        ({"cache": object()}, "the engine keeps its own KV cache"),
        ({"questions": "Find g."}, "expected a list of strings"),
    ],
)
def test_parameter_errors_are_usage_errors(tiny, kwargs, pattern):
    pipe = kv.pipeline(tiny, threads=THREADS)
    with pytest.raises(kv.UsageError, match=pattern) as e:
        pipe("g=4. ", **({"question": "Find g."} if "questions" not in kwargs else {}), **kwargs)
    assert e.value.exit_code == 1


@pytest.mark.model
def test_chat_required_without_a_template(stories):
    with pytest.raises(kv.NotFoundError, match="chat=True given but the model has no chat template"):
        kv.pipeline(stories)("Lily had a ball.", question="Then", chat=True)
