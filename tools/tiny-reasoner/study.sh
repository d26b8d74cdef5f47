#!/usr/bin/env bash
# The accuracy table of models/tiny-reasoner/MODEL_CARD.md: every press the card lists x budgets on
# all held-out problems, through the harness (chat protocol, normalized scoring), then the report.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KV="${KVPRESS:-$ROOT/build/bin/kvpress}"
OUT="${1:-$ROOT/build/tiny-study}"
cd "$ROOT"  # relative paths: the report names the model "models/tiny-reasoner"
"$KV" sweep --models models/tiny-reasoner --datasets "jsonl=models/tiny-reasoner/test.jsonl" \
  --presses full,streaming_llm,knorm,h2o,snapkv_d,tova,keydiff,random --budgets 16,24,32,48,64 \
  --max-new-tokens 64 --threads 1 --batch-size 2 --output-dir "$OUT/results"
"$KV" report "$OUT/results" --output-dir "$OUT/report"
# The card's plots.
cp "$OUT"/report/*__accuracy.svg models/tiny-reasoner/accuracy_vs_budget.svg
cp "$OUT"/report/*__output_tokens.svg models/tiny-reasoner/output_tokens_vs_budget.svg
