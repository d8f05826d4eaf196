#!/usr/bin/env bash
# Tokenizer throughput, refinery against tiktoken (WASM) and js-tiktoken, same files, one run.
#   tools/bench/tokenizer.sh [FILE...]   (default: the English texts and the multilingual one in ../shared)
set -euo pipefail
cd "$(dirname "$0")/../.."
files=("$@")
if ((${#files[@]} == 0)); then
  files=(../shared/data/text/linux-doc.txt ../shared/data/text/jargon.txt ../shared/data/text/fortunes.txt
         ../shared/data/text/multilingual.txt)
fi
build/tokenizer_bench "${files[@]}"
(cd tools/tokenizer/golden && npm install --silent --no-audit --no-fund >/dev/null)
abs=()
for f in "${files[@]}"; do abs+=("$(realpath "$f")"); done
node tools/tokenizer/golden/bench.mjs "${abs[@]}"
