#!/usr/bin/env bash
# `make demo`: a short study on the bundled tiny reasoning model (models/tiny-reasoner, compiled into
# the binary): one greedy generation, then a sweep of five presses x three small cache budgets on
# held-out problems, the report (accuracy with 95% intervals, the paired "Δ vs full" column, output
# length, KV bytes; SVG plots with error bars and the Pareto views), and the eviction pictures of one
# H2O generation (which positions the cache kept, step by step).
# Results go to $DEMO_DIR (default build/demo), rebuilt from scratch each time.
set -euo pipefail
BUILD_DIR="${1:-build}"
KV="$BUILD_DIR/bin/kvpress"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${DEMO_DIR:-$BUILD_DIR/demo}"
SAMPLES="${DEMO_SAMPLES:-100}"
TEST="$ROOT/models/tiny-reasoner/test.jsonl"
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)

QUESTION=$(head -1 "$TEST" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["question"])' 2>/dev/null \
  || echo "g=4, c=9, m=1, a=7. Find c+a.")
echo "== kvpress generate (bundled tiny-reasoner, chat template, greedy)" >&2
echo "Q: $QUESTION" >&2
"$KV" generate --context "$QUESTION" --max-new-tokens 64 --threads 1

echo "== kvpress sweep: full, streaming_llm, knorm, h2o, snapkv_d x budgets 16, 32, 48 on $SAMPLES problems" >&2
"$KV" sweep --datasets "jsonl=$TEST" --presses full,streaming_llm,knorm,h2o,snapkv_d --budgets 16,32,48 \
  --num-samples "$SAMPLES" --max-new-tokens 64 --threads 1 --batch-size 2 --output-dir "$OUT/results" 2>&1 \
  | grep -E "accuracy|sweep shard" >&2

echo "== kvpress report --compare full" >&2
"$KV" report "$OUT/results" --output-dir "$OUT/report" --compare full

echo "== kvpress generate --press h2o --cache-budget 24 --eviction-log, then kvpress report --evictions" >&2
mkdir -p "$OUT/evictions"
"$KV" generate --context "$QUESTION" --max-new-tokens 64 --threads 1 --press h2o --cache-budget 24 \
  --eviction-log "$OUT/evictions/h2o_budget24.csv" >/dev/null
"$KV" report --evictions "$OUT/evictions/h2o_budget24.csv"
echo "== plots: $(ls "$OUT"/report/*.svg "$OUT"/evictions/*.svg | tr '\n' ' ')" >&2
echo "== demo done in $(( $(date +%s) - start )) s" >&2
