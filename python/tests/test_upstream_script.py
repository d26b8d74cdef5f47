"""python/examples/upstream_pipeline.py (an upstream kvpress script with only its import and model
changed) runs, and its greedy answers are the CLI's for the same settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

pytestmark = pytest.mark.model

# What the script runs, as `kvpress generate` flags (upstream's defaults: max_new_tokens 50,
# enable_thinking false).
CLI_FLAGS = {
    "no_press": [],
    "knorm": ["--press", "knorm", "--compression-ratio", "0.5"],
    "snapkv": ["--press", "snapkv:window=4,kernel=5", "--compression-ratio", "0.4"],
    "streaming_llm": ["--press", "streaming_llm:n_sink=2", "--compression-ratio", "0.5"],
    "tova": ["--press", "tova", "--compression-ratio", "0.3"],
    "knorm_multi": ["--press", "knorm", "--compression-ratio", "0.3"],
}
CONTEXT = "k=4, c=2, q=3, a=0, g=1. "


def test_upstream_script_gives_the_cli_answers(cli):
    script = SOURCE_DIR / "python" / "examples" / "upstream_pipeline.py"
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 8
    multi = [line for line in lines if line["press"] == "knorm_multi"]
    base = ["generate", "--context", CONTEXT, "--max-new-tokens", "50", "--enable-thinking", "false"]
    for line in lines:
        if line["press"] == "knorm_multi":
            continue
        theirs = cli.json(base + ["--question", line["question"], *CLI_FLAGS[line["press"]]])
        assert line["answer"] == theirs["answers"][0]["text"], line["press"]
    args = base + [a for line in multi for a in ("--question", line["question"])] + CLI_FLAGS["knorm_multi"]
    theirs = cli.json(args)
    assert [line["answer"] for line in multi] == [a["text"] for a in theirs["answers"]]
