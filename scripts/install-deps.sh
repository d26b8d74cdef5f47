#!/usr/bin/env bash
# Installs the Debian packages kvpress.cpp needs to build and test, only those missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
#   scripts/install-deps.sh          what `make build` / `make test` need
#   scripts/install-deps.sh --fuzz   also clang 14 and its sanitizer/libFuzzer runtimes (`make fuzz`)
#   scripts/install-deps.sh --format clang-format-14 only (`make format-check`)
set -euo pipefail
PKGS=(cmake ninja-build g++ pkg-config libhwy-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev
      libfmt-dev libcurl4-openssl-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
      python3 python3-jsonschema libxml2-utils libyaml-cpp-dev libcpp-httplib-dev python3-venv
      pybind11-dev python3-dev python3-numpy python3-pytest)
if [ "${1:-}" = "--fuzz" ]; then
  PKGS+=(clang-14 libclang-rt-14-dev)
elif [ "${1:-}" = "--format" ]; then
  PKGS=(clang-format-14 git)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present" >&2
else
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = "--format" ] && exit 0

# The official `openai` Python client for tests/serve/serve_openai_test.py, in a venv outside the repo
# (~60 MB, ~20 s from PyPI). Best effort: without network the test is skipped, nothing fails.
PYENV="${KVPRESS_PYENV:-$HOME/.cache/kvpress/pyenv}"
if ! "$PYENV/bin/python3" -c "import openai" 2>/dev/null; then
  echo "install-deps: installing the openai client into $PYENV" >&2
  { python3 -m venv "$PYENV" && "$PYENV/bin/pip" install -q --disable-pip-version-check "openai==2.54.0"; } ||
    echo "install-deps: warning: could not install the openai client; serve_openai_test will be skipped" >&2
fi
