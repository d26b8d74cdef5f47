#!/usr/bin/env bash
# Runs every libFuzzer target of `make fuzz` (docs/FUZZING.md), one after the other, niced.
#   scripts/fuzz.sh BUILD_DIR SECONDS [RUNS] [TARGET...]
# Each target starts from its committed seeds (fuzz/corpus/<target>/, read only) and grows a
# scratch corpus in BUILD_DIR/fuzz-work/<target>/; it stops after SECONDS or RUNS executions
# (RUNS 0 = no limit). Crashes, timeouts (> 10 s per input) and OOMs (> 2 GB) are saved as
# BUILD_DIR/fuzz-work/<target>/artifacts/*. Prints one line per target: executions, inputs refused
# with a clean error, and the crash / timeout (hang) / OOM / leak files found.
# Targets run one at a time under `nice -n $FUZZ_NICE` (19: other work on the machine goes first).
set -u
nice_level=${FUZZ_NICE:-19}

# The longest input libFuzzer makes for a target: about twice its largest seed for the model
# files (a few KB hold every header field and a tiny tensor table), libFuzzer's usual 4 KB for
# text; longer inputs only make each execution slower.
max_len() {
  case "$1" in
    fuzz_gguf|fuzz_safetensors|fuzz_llama2c|fuzz_tokenizer_json) echo 8192 ;;
    fuzz_tokenizer_bin) echo 1024 ;;   # at most 64 tokens
    fuzz_press_spec) echo 256 ;;
    fuzz_sweep_yaml) echo 2048 ;;
    *) echo 4096 ;;
  esac
}
build=${1:-build-fuzz}
seconds=${2:-30}
runs=${3:-0}
shift $(( $# > 3 ? 3 : $# ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_gguf fuzz_safetensors fuzz_llama2c fuzz_tokenizer_json fuzz_tokenizer_bin fuzz_jinja
           fuzz_dataset_rows fuzz_press_spec fuzz_score_file fuzz_sweep_yaml)
fi
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  log="$work/last.log"
  limit=()
  [ "$runs" != 0 ] && limit=(-runs="$runs")
  started=$SECONDS
  nice -n "$nice_level" "$build/bin/$t" -max_total_time="$seconds" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$root/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  inputs=$(grep -o 'kvpress-fuzz: inputs [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  clean=$(grep -o 'clean errors [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  count() { ls "$work/artifacts" | grep -c "^$1" ; }
  echo "$t seconds=$((SECONDS - started)) executions=${execs:-?} inputs=${inputs:-?} clean_errors=${clean:-?} crashes=$(count crash-) timeouts=$(count timeout-)" \
       "ooms=$(count oom-) leaks=$(count leak-) exit=$rc"
  [ "$rc" -ne 0 ] && status=1
done
exit $status
