#!/usr/bin/env bash
# The clang-format check of CI (`make format-check`, docs/CONTRIBUTING.md "Formatting").
#   scripts/format-check.sh               every tracked C++ file except those listed in
#                                         scripts/format-pending.txt must be clang-format clean
#   scripts/format-check.sh --diff BASE   only the lines changed since this branch left BASE, in
#                                         every file, pending ones included (clang-format-diff)
# The formatter is pinned to Debian's clang-format-14 (scripts/install-deps.sh installs it): other
# versions break lines differently. Files not yet formatted are listed in format-pending.txt so
# that the whole tree need not be reformatted at once (it would collide with every open branch);
# format one with `clang-format-14 -i FILE` when nobody else is editing it and drop its line.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format-check: $CLANG_FORMAT not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

if [ "${1:-}" = "--diff" ]; then
  base="${2:?usage: format-check.sh --diff BASE}"
  diff_tool="${CLANG_FORMAT_DIFF:-clang-format-diff-14}"
  # From where this branch left BASE (its merge base), to the working tree.
  fork=$(git merge-base "$base" HEAD)
  out=$(git diff -U0 --no-color "$fork" -- '*.h' '*.cc' ':!tests/fixtures' |
        "$diff_tool" -p1 -binary "$(command -v "$CLANG_FORMAT")")
  if [ -n "$out" ]; then
    printf '%s\n' "$out"
    echo "format-check: lines changed since $base are not clang-format clean (diff above)" >&2
    exit 1
  fi
  echo "format-check: lines changed since $base are clean" >&2
  exit 0
fi

pending_file=scripts/format-pending.txt
declare -A pending=()
while IFS= read -r line; do
  line="${line%%#*}"
  line="${line//[[:space:]]/}"
  [ -n "$line" ] && pending["$line"]=1
done < "$pending_file"

bad=()
checked=0
now_clean=()
while IFS= read -r f; do
  if [ -n "${pending[$f]:-}" ]; then
    "$CLANG_FORMAT" --dry-run -Werror "$f" >/dev/null 2>&1 && now_clean+=("$f")
    continue
  fi
  checked=$((checked + 1))
  "$CLANG_FORMAT" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.h' '*.cc' ':!tests/fixtures')

for f in "${now_clean[@]}"; do
  echo "format-check: note: $f is clean now; remove it from $pending_file" >&2
done
if [ ${#bad[@]} -gt 0 ]; then
  for f in "${bad[@]}"; do echo "format-check: not clang-format clean: $f" >&2; done
  echo "format-check: run \`$CLANG_FORMAT -i FILE\` on them (or, for a file others are editing," \
       "list it in $pending_file)" >&2
  exit 1
fi
echo "format-check: $checked files clean (${#pending[@]} pending in $pending_file)" >&2
