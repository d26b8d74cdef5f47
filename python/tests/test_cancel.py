"""Ctrl-C during a long prefill: the engine stops before its next layer and Python raises
KeyboardInterrupt (the process does not run the prefill to its end)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import tiny_model_dir

pytestmark = pytest.mark.model

CHILD = r"""
import sys, kvpress_cpp as kv
pipe = kv.pipeline(sys.argv[1], threads=1)
print("ready", flush=True)
try:
    pipe("g=4, c=9 " * 20000, question="Find g.", max_new_tokens=4)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    # The pipeline is still usable after an interruption.
    print(pipe("g=4. ", question="Find g.", max_new_tokens=8)["answer"].strip() != "", flush=True)
"""


def long_context_model(tmp_path: pathlib.Path) -> str:
    """The bundled model's files with max_position_embeddings raised, so a 180k-token prompt is
    accepted (its prefill then takes far longer than the test waits)."""
    src = tiny_model_dir()
    if src is None:
        pytest.skip("models/tiny-reasoner absent")
    dst = tmp_path / "bigctx"
    dst.mkdir()
    for f in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        shutil.copy(os.path.join(src, f), dst / f)
    config = json.loads((dst / "config.json").read_text())
    config["max_position_embeddings"] = 1000000
    (dst / "config.json").write_text(json.dumps(config))
    return str(dst)


def test_sigint_interrupts_a_long_prefill(tmp_path):
    model = long_context_model(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", CHILD, model], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=os.environ.copy())
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # into the prefill
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        pytest.fail("the prefill was not interrupted")
    assert out.split() == ["interrupted", "True"], err
    assert child.returncode == 0, err
