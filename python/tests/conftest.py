"""Shared fixtures of the kvpress_cpp pytest suite (python/tests).

ctest runs it twice (python/CMakeLists.txt): ``-m "not model"`` (label unit) and ``-m model``
(label model: the bundled tiny-reasoner and ../shared/data, skipped with a message when absent).
The environment names the pieces: KVPRESS_BIN (the CLI the results are compared with),
KVPRESS_SHARED_DATA, KVPRESS_SOURCE_DIR; PYTHONPATH holds the package.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from typing import List, Optional

import pytest

import kvpress_cpp as kv

SOURCE_DIR = pathlib.Path(os.environ.get("KVPRESS_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
SHARED_DATA = pathlib.Path(os.environ.get("KVPRESS_SHARED_DATA", SOURCE_DIR.parent / "shared" / "data"))
_default_bin = SOURCE_DIR / "build" / "bin" / "kvpress"
KVPRESS_BIN = os.environ.get("KVPRESS_BIN") or (str(_default_bin) if _default_bin.exists() else "")
# Both front ends run with the same thread count in comparisons (the results do not depend on it,
# but the CLI's default is every core).
THREADS = 2


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "model: needs the bundled model or ../shared/data (ctest label model)")


def shared(relative: str) -> pathlib.Path:
    """A file under ../shared/data, or a skip naming it."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} absent (shared test data)")
    return path


class Cli:
    """Runs the kvpress binary."""

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def run(self, args: List[str], timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout)

    def json(self, args: List[str]) -> dict:
        """`kvpress <args> --json` parsed; fails the test on a non-zero exit."""
        r = self.run([*args, "--json"])
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def error(self, args: List[str], command: str = "generate") -> tuple:
        """(exit code, message) of a failing run: the text after "kvpress <command>: error: "."""
        r = self.run(args)
        assert r.returncode != 0, r.stdout
        prefix = f"kvpress {command}: error: "
        lines = [line for line in r.stderr.splitlines() if line.startswith(prefix)]
        assert lines, r.stderr
        return r.returncode, lines[-1][len(prefix):]


@pytest.fixture(scope="session")
def cli() -> Cli:
    if not KVPRESS_BIN or not pathlib.Path(KVPRESS_BIN).exists():
        pytest.skip("the kvpress binary is not built (set KVPRESS_BIN)")
    return Cli(KVPRESS_BIN)


@pytest.fixture(scope="session")
def tiny() -> kv.Model:
    """The bundled tiny-reasoner (compiled into the module)."""
    return kv.Model.load()


@pytest.fixture(scope="session")
def stories() -> kv.Model:
    """stories260K (llama2.c checkpoint, tok512.bin found beside it)."""
    return kv.Model.load(str(shared("models/stories260K/stories260K.bin")))


@pytest.fixture(scope="session")
def stories_path() -> str:
    return str(shared("models/stories260K/stories260K.bin"))


def tiny_model_dir() -> Optional[str]:
    path = SOURCE_DIR / "models" / "tiny-reasoner"
    return str(path) if (path / "model.safetensors").exists() else None
