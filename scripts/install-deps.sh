#!/usr/bin/env bash
# Installs the Debian packages kvpress.cpp needs to build and test, only those missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
#   scripts/install-deps.sh          what `make build` / `make test` need
#   scripts/install-deps.sh --fuzz   also clang 14 and its sanitizer/libFuzzer runtimes (`make fuzz`)
set -euo pipefail
PKGS=(cmake ninja-build g++ pkg-config libhwy-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev
      libfmt-dev libcurl4-openssl-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
      python3 python3-jsonschema libxml2-utils libyaml-cpp-dev)
if [ "${1:-}" = "--fuzz" ]; then
  PKGS+=(clang-14 libclang-rt-14-dev)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
