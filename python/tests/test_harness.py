"""eval() and sweep() against `kvpress eval` / `kvpress sweep`: same files, same rows."""

from __future__ import annotations

import json
import pathlib

import pytest

import kvpress_cpp as kv
from conftest import THREADS, shared

pytestmark = pytest.mark.model

SETTINGS = dict(num_samples=3, max_new_tokens=16, threads=THREADS)
CLI_SETTINGS = ["--num-samples", "3", "--max-new-tokens", "16", "--threads", str(THREADS)]


def read_rows(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]


def test_eval_rows_match_the_cli(stories, stories_path, cli, tmp_path):
    gsm8k = str(shared("datasets/gsm8k/test.jsonl"))
    seen = []
    out = kv.eval("gsm8k", stories, kv.H2OPress(cache_budget=32), data_file=gsm8k,
                  output_dir=str(tmp_path / "py"), progress=seen.append, **SETTINGS)
    r = cli.run(["eval", "--dataset", "gsm8k", "--data-file", gsm8k, "--model", stories_path, "--press", "h2o",
                 "--cache-budget", "32", "--output-dir", str(tmp_path / "cli"), *CLI_SETTINGS])
    assert r.returncode == 0, r.stderr
    cli_files = sorted((tmp_path / "cli").glob("*.jsonl"))
    assert [f.name for f in cli_files] == [pathlib.Path(out["result_path"]).name]
    theirs = read_rows(cli_files[0])
    assert len(out["rows"]) == len(theirs) == 3
    for mine, other in zip(out["rows"], theirs):
        for key in ("sample_id", "response", "extracted_answer", "correct", "gt_answer"):
            assert mine[key] == other[key], key
    assert out["summary"]["num_samples"] == 3
    assert out["summary"]["accuracy"] == json.loads(pathlib.Path(str(cli_files[0])[:-6] + "_score.json").read_text())["accuracy"]
    assert seen and seen[-1]["done"] == seen[-1]["total"] == 3
    # A finished run is not redone; its rows come back all the same.
    again = kv.eval("gsm8k", stories, "h2o", cache_budget=32, data_file=gsm8k, output_dir=str(tmp_path / "py"),
                    progress=False, **SETTINGS)
    assert again["already_finished"] and again["rows"] == out["rows"]


def test_eval_errors_have_the_cli_messages(stories, stories_path, cli, tmp_path):
    gsm8k = str(shared("datasets/gsm8k/test.jsonl"))
    code, message = cli.error(["eval", "--dataset", "nosuchset", "--data-file", gsm8k, "--model", stories_path,
                               "--output-dir", str(tmp_path)], command="eval")
    with pytest.raises(kv.KvpressError) as e:
        kv.eval("nosuchset", stories, data_file=gsm8k, output_dir=str(tmp_path))
    assert str(e.value) == message and e.value.exit_code == code
    with pytest.raises(kv.UsageError, match="unknown eval setting 'num_sample'"):
        kv.eval("gsm8k", stories, data_file=gsm8k, num_sample=3)


def test_sweep_plans_the_cli_cells(stories_path, cli, tmp_path):
    gsm8k = str(shared("datasets/gsm8k/test.jsonl"))
    grid = dict(models=[stories_path], datasets=["gsm8k"], presses=["full", "knorm", "snapkv_d:window=8"],
                budgets=[16, 32])
    rows = kv.sweep(**grid, data_files=[gsm8k], shard="2/3", dry_run=True, output_dir=str(tmp_path), **SETTINGS)
    r = cli.run(["sweep", "--models", stories_path, "--datasets", "gsm8k", "--presses", "full,knorm,snapkv_d:window=8",
                 "--budgets", "16,32", "--data-file", gsm8k, "--shard", "2/3", "--dry-run", "--output-dir",
                 str(tmp_path), *CLI_SETTINGS])
    assert r.returncode == 0, r.stderr
    planned = [line.split("\t") for line in r.stdout.splitlines() if line.strip()]
    assert [(str(row["index"]), row["stem"]) for row in rows] == [tuple(p) for p in planned]
    assert all(row["status"] == "planned" for row in rows)


def test_sweep_runs_and_resumes(stories, tmp_path):
    gsm8k = str(shared("datasets/gsm8k/test.jsonl"))
    kwargs = dict(datasets=["gsm8k"], presses=["full", kv.StreamingLLMPress()], budgets=[24], data_files=[gsm8k],
                  output_dir=str(tmp_path), num_samples=2, max_new_tokens=12, threads=THREADS, progress=False)
    rows = kv.sweep([stories], **kwargs)
    assert [row["status"] for row in rows] == ["finished", "finished"]
    assert [row["press"] for row in rows] == ["full", "streaming_llm:n_sink=4"]
    assert all(row["num_samples"] == 2 and 0.0 <= row["accuracy"] <= 1.0 for row in rows)
    assert all(pathlib.Path(row["score_path"]).exists() for row in rows)
    again = kv.sweep([stories], **kwargs)
    assert [row["status"] for row in again] == ["already_finished", "already_finished"]
