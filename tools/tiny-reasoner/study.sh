#!/usr/bin/env bash
# The accuracy tables of models/tiny-reasoner/MODEL_CARD.md: every press of `kvpress presses` on all
# 300 held-out problems through the harness (chat protocol, normalized scoring), then the reports.
#   tools/tiny-reasoner/study.sh            # from a build with build/bin/kvpress; ~40 min on one core
# Steps: calibration problems -> `kvpress stats` (models/tiny-reasoner/query_stats.safetensors, the
# statistics of expected_attention:stats= and the Q-filters of qfilter:filters=); the sweeps of
# sweeps/*.yaml (resumable: a rerun skips finished cells; results under build/tiny-study/results);
# `kvpress report` over the core sweep (the card's plots) and over all of them; card_tables.py
# prints the card's per-press tables to build/tiny-study/card_tables.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KV="${KVPRESS:-$ROOT/build/bin/kvpress}"
OUT="$ROOT/build/tiny-study"  # the sweep files name their output_dir under it
HERE="$ROOT/tools/tiny-reasoner"
cd "$ROOT"  # relative paths: the report names the model "models/tiny-reasoner"
mkdir -p "$OUT"
start=$(date +%s)

python3 "$HERE/calibration.py" --out "$OUT/calib.jsonl" --count 300
"$KV" stats --text "$OUT/calib.jsonl" --samples 300 --threads 1 \
  -o models/tiny-reasoner/query_stats.safetensors 2> >(tr '\r' '\n' | tail -n 1 >&2)

for sweep in core budgets ratios fixed; do
  echo "== sweep $sweep ($(($(date +%s) - start)) s)" >&2
  "$KV" sweep --config "$HERE/sweeps/$sweep.yaml"
done

"$KV" report "$OUT/results/core" --output-dir "$OUT/report-core"
"$KV" report "$OUT/results" --output-dir "$OUT/report-all" --no-plots
"$KV" presses > "$OUT/presses.txt"
python3 "$HERE/card_tables.py" "$OUT/report-all/report.json" --presses "$OUT/presses.txt" \
  > "$OUT/card_tables.md"
# The card's plots (the core presses; 40 curves in one chart would be unreadable).
cp "$OUT"/report-core/*__accuracy.svg models/tiny-reasoner/accuracy_vs_budget.svg
cp "$OUT"/report-core/*__output_tokens.svg models/tiny-reasoner/output_tokens_vs_budget.svg
echo "study: $(($(date +%s) - start)) s; tables in $OUT/card_tables.md" >&2
