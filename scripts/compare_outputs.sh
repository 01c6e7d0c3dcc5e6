#!/usr/bin/env bash
# Compares two directories written by check_outputs_unchanged.sh, ignoring
# only the per-article timings (milliseconds measured on the run).
set -euo pipefail
normalize() {
  local dir=$1 copy=$2
  cp -r "$dir" "$copy"
  find "$copy" -name '*.json' -exec sed -E -i \
    's/"(translate_ms|total_ms|summarize_ms)": [0-9]+/"\1": 0/g' {} +
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
normalize "$1" "$work/a"
normalize "$2" "$work/b"
diff -r "$work/a" "$work/b" && echo "identical apart from timings"
