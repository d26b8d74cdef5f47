#!/usr/bin/env bash
# Press overhead per decode step at --cache-budget 256 for the wrapper presses (issue 14), on
# SmolLM2-135M-Instruct f32 (convert it first, see scripts/goldens/make_press_catalogue_goldens.py).
# Prints one TSV row per press: press, median press seconds per step, mean, overhead fraction,
# KV bytes live after the run.
# usage: bench/press_overhead_catalogue.sh MODEL_DIR [THREADS [PRESS...]]  (no PRESS: the whole list)
set -euo pipefail
MODEL=${1:?model dir}
THREADS=${2:-1}
BIN=${KVPRESS:-./build/bin/kvpress}
PRESSES=(knorm snapkv "adakv(knorm)" "adakv(snapkv)" pyramidkv
         "per_layer(knorm):budgets=$(python3 -c 'print("/".join(str(384 - 256 * l // 29) for l in range(30)))')"
         "composed(knorm,streaming_llm)" "decoding(knorm):target=256,interval=8"
         "compression_ratio_decoding(knorm):target_ratio=0.5,interval=8"
         "prefill_decoding(snapkv,decoding(knorm):target=256,interval=8)"
         "block(knorm)" "block(keydiff)" "entropy_gated_chunkkv(knorm)" "think" "composed(snapkv,think)"
         "chunk(knorm):length=128" "chunkkv(knorm)" simlayerkv
         "criticalkv(snapkv)" "criticaladakv(snapkv)" "key_rerotation(knorm)")
if [ $# -gt 2 ]; then PRESSES=("${@:3}"); fi
printf "press\tpress_s_per_step_median\tpress_s_per_step_mean\toverhead_fraction\tkv_bytes_live\n"
for P in "${PRESSES[@]}"; do
  "$BIN" bench -m "$MODEL" --prompt-tokens 512 --decode-tokens 64 --prefill-reps 1 --threads "$THREADS" --no-bandwidth \
      --press "$P" --cache-budget 256 2>/dev/null |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print("\t".join([sys.argv[1], "%.6f" % j["press_seconds_per_step_median"], "%.6f" % j["press_seconds_per_step_mean"], "%.4f" % j["press_overhead_fraction"], str(j["kv_bytes_live"])]))' "$P"
done
