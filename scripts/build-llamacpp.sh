#!/usr/bin/env bash
# Builds the reference llama.cpp (from the pinned llama-cpp-python source distribution on PyPI) into a
# cache folder outside the source tree, for goldens and side-by-side benchmarks only; kvpress never
# links it. Produces: $REF/bin/{llama-bench,llama-batched-bench,llama-quantize}, $REF/bin/libllama.so,
# and a venv $REF/venv with llama_cpp (Python bindings, using these libraries), gguf and numpy.
#   usage: scripts/build-llamacpp.sh            (idempotent; prints the REF folder)
#   env:   KVPRESS_REF_DIR (default ~/.cache/kvpress-ref), JOBS (default nproc)
set -euo pipefail
LLAMA_CPP_PYTHON_VERSION=0.3.36   # vendors llama.cpp 0c1e570 (the version our issues quote)
GGUF_VERSION=0.17.1
REF=${KVPRESS_REF_DIR:-$HOME/.cache/kvpress-ref}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$REF"
SRC="$REF/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION"
if [ ! -d "$SRC" ]; then
  python3 -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$REF"
  tar xzf "$REF/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" -C "$REF"
fi
if [ ! -x "$REF/bin/llama-bench" ]; then
  cmake -S "$SRC/vendor/llama.cpp" -B "$REF/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON >/dev/null
  cmake --build "$REF/build" -j "$JOBS" --target llama llama-bench llama-batched-bench llama-quantize
  mkdir -p "$REF/bin"
  cp -a "$REF/build/bin/"* "$REF/bin/"
fi
if [ ! -x "$REF/venv/bin/python" ]; then
  python3 -m venv "$REF/venv"
  "$REF/venv/bin/pip" install -q "gguf==$GGUF_VERSION" numpy
  # The Python package only: its own llama.cpp build is switched off and pointed at ours below.
  CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" "$REF/venv/bin/pip" install -q "$SRC"
  PKG=$("$REF/venv/bin/python" -c 'import importlib.util,os;print(os.path.dirname(importlib.util.find_spec("llama_cpp").origin))')
  mkdir -p "$PKG/lib"
  cp -a "$REF/bin/"lib*.so* "$PKG/lib/"
fi
echo "$REF"
