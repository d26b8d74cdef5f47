#!/usr/bin/env bash
# `make demo`: the main job on the embedded default model. Until the bundled tiny reasoning model
# lands, this is stories260K from ../shared/data when present, else a committed fixture model.
set -euo pipefail
BUILD_DIR="${1:-build}"
KV="$BUILD_DIR/bin/kvpress"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STORIES="$ROOT/../shared/data/models/stories260K"
if [ -f "$STORIES/stories260K.bin" ]; then
  echo "== kvpress inspect (stories260K, a real 260K-parameter llama2.c model)" >&2
  "$KV" inspect --model "$STORIES/stories260K.bin" | head -6
  echo "== kvpress generate --prompt 'Once upon a time' (greedy, 200 tokens)" >&2
  printf 'Once upon a time'
  "$KV" generate --model "$STORIES/stories260K.bin" --tokenizer "$STORIES/tok512.bin" \
    --prompt "Once upon a time" --max-new-tokens 200
else
  echo "== ../shared/data absent: generating ids with a committed random-weight fixture" >&2
  "$KV" generate --model "$ROOT/tests/fixtures/models/qwen3_qknorm_f32" --prompt-ids 1,2,3 --max-new-tokens 16
fi
echo "== kvpress bench --random tiny" >&2
"$KV" bench --random tiny --prompt-tokens 64 --decode-tokens 16 --bandwidth-mb 256
