#!/usr/bin/env bash
# Quantized GGUF speed, refinery against llama.cpp on the same files in the same run (issue 20):
# a GPT-2-small-sized random llama (dim 768, 12 layers, hidden 3072, 114.6 M parameters) written
# by make-tiny-model, quantized by `graph-runner quantize` to Q8_0 and Q4_K_M; then llm_bench
# (batch 1/4/8/16 decode, 128-token prompt) and, when LLAMA_BENCH names a llama-bench binary,
# `llama-bench -p 128 -n 32` on each file, at 1 and 2 threads.
#
#   tools/bench/quantized_bench.sh [BUILD_DIR]        (LLAMA_BENCH=/path/to/llama-bench optional)
# Files go to ${BENCH_DIR:-/tmp/refinery-quantized-bench} (69-458 MB). Prints tables; asserts nothing.
# Both sides report the best of their repetitions: compare best with best.
set -euo pipefail
build=${1:-build}
dir=${BENCH_DIR:-/tmp/refinery-quantized-bench}
mkdir -p "$dir"
base=$dir/m110-F32.gguf
[ -f "$base" ] || "$build/make-tiny-model" "$base" --corpus README.md docs/*.md --dim 768 --layers 12 \
  --heads 12 --kv-heads 12 --hidden 3072 --context 1024 --type f32 >&2
for type in Q8_0 Q4_K_M; do
  [ -f "$dir/m110-$type.gguf" ] || "$build/graph-runner" quantize "$base" "$dir/m110-$type.gguf" --type "$type"
done
for threads in 1 2; do
  for type in F32 Q8_0 Q4_K_M; do
    echo "== refinery llm_bench, $type, $threads thread(s)"
    formats=f32
    [ "$type" = F32 ] && formats=f32,int8
    "$build/llm_bench" "$dir/m110-$type.gguf" --formats "$formats" --tokens 32 --threads "$threads"
    if [ -n "${LLAMA_BENCH:-}" ]; then
      echo "== llama.cpp llama-bench, $type, $threads thread(s)"
      # Best of the repetitions (llm_bench reports the best of three too) and the mean.
      "$LLAMA_BENCH" -m "$dir/m110-$type.gguf" -p 128 -n 32 -r 3 -t "$threads" -o jsonl 2>/dev/null |
        while IFS= read -r line; do
          prompt=$(grep -o '"n_prompt": [0-9]*' <<<"$line" | grep -o '[0-9]*$')
          samples=$(grep -o '"samples_ts": \[[^]]*\]' <<<"$line" | grep -o '[0-9.][0-9.]*' | tr '\n' ' ')
          best=$(tr ' ' '\n' <<<"$samples" | sort -g | tail -1)
          if [ "$prompt" -gt 0 ]; then test=pp$prompt; else test=tg32; fi
          echo "$test: best $best tok/s (repetitions: $samples)"
        done
    fi
  done
done
