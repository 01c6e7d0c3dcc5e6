#!/usr/bin/env bash
# Runs the binary over ../shared/articles and the test pages with every
# fixture model and writes everything it produces (per-article JSON and
# Markdown, digests, `extract` and `translate` output) under one directory,
# so that two builds can be compared byte for byte:
#
#   scripts/check_outputs_unchanged.sh BIN_BEFORE /tmp/before
#   scripts/check_outputs_unchanged.sh BIN_AFTER  /tmp/after
#   diff -r /tmp/before /tmp/after
#
# Used to show that a change meant to move code changes no output.
set -euo pipefail
bin=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$root/../shared/articles" && pwd)
fixtures=$root/tests/fixtures
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HF_HOME=$work/hf HF_HUB_OFFLINE=1
unset HF_ENDPOINT

inputs=("$shared" "$fixtures/articles" "$fixtures/pages" "$fixtures/html")
run() { # name, flags...
  local name=$1
  shift
  "$bin" run "${inputs[@]}" --out "$out/$name" --cache-dir "$work/cache-$name" "$@" \
    >"$out/$name.stdout" 2>/dev/null || echo "exit $?" >"$out/$name.exit"
}
run marian --model "$fixtures/marian-tiny"
run marian-summary3 --model "$fixtures/marian-tiny" --summary-sentences 2
run nllb --model "$fixtures/nllb-tiny"
run t5 --model "$fixtures/t5-tiny"
run marian-chat --model "$fixtures/marian-tiny" --summarizer "$fixtures/chat-tiny"
run llm --translator "$fixtures/chat-tiny"
"$bin" extract "${inputs[@]}" >"$out/extract.jsonl" 2>/dev/null || echo "exit $?" >"$out/extract.exit"
cat "$shared"/*.txt | "$bin" translate --model "$fixtures/marian-tiny" \
  --cache-dir "$work/cache-translate" >"$out/translate.txt" 2>/dev/null \
  || echo "exit $?" >"$out/translate.exit"
find "$out" -type f | wc -l
