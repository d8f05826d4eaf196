#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz, each for SECONDS (default 30), in build-fuzz/
# (clang-14, -fsanitize=fuzzer,address,undefined). Seeds: tests/fuzz/corpus/NAME plus what the
# project already has (pipelines, sample requests, docs text, the generated tiny model, and
# ../shared's models when present), copied into a scratch corpus so the repository is never
# written. A crash stops that harness, keeps its reproducer under build-fuzz/crashes/NAME and makes
# the script exit 1 (commit the reproducer as a test); that harness's log is kept beside it. Prints executions, coverage and findings.
#
# FUZZ_TIMEOUT (default 10) is the seconds one input may take before it counts as a hang; raise it
# on a loaded machine. FUZZ_MAX_RUNS stops a harness after that many executions (default: none).
#
#   tools/fuzz.sh [SECONDS] [HARNESS...]   harnesses: pipeline override condition request config text tokenizer
#                                          gguf http
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh [SECONDS] [HARNESS...]" >&2; exit 2; }
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(pipeline override condition request config text tokenizer gguf http)

runtime=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
if ! command -v clang++-14 >/dev/null || [ ! -f "$runtime" ]; then
  echo "fuzz: needs clang-14 and libclang-rt-14-dev (apt-get install --no-install-recommends clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
# The text harness reads the tiktoken rank files and the tokenizer harness the tiny model, both
# from set-up.
[ -f .cache/vocab/cl100k_base.tiktoken ] || tools/fetch-vocab.sh >/dev/null
[ -f .cache/models/tiny-llama.gguf ] || { echo "fuzz: no .cache/models/tiny-llama.gguf (run tools/setup.sh)" >&2; exit 1; }

if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DREFINERY_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build build-fuzz --target "${targets[@]}" >/dev/null

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Extra seeds from the project itself (never copied into the repository).
seed() {
  local name=$1 dir=$scratch/corpus-$1
  mkdir -p "$dir"
  [ -d "tests/fuzz/corpus/$name" ] && cp tests/fuzz/corpus/"$name"/* "$dir"/
  case "$name" in
    pipeline) cp pipelines/*.yaml "$dir"/ ;;
    config) cp configs/*.yaml "$dir"/ ;;
    request)
      local i=0
      while IFS= read -r line; do
        printf '%s' "$line" > "$dir/sample-$i"
        i=$((i + 1))
      done < <(cat pipelines/samples/*.jsonl)
      ;;
    text | tokenizer) for f in README.md docs/nodes.md; do head -c 4096 "$f" > "$dir/$(basename "$f")"; done ;;
    gguf)
      [ -f .cache/models/tiny-llama.gguf ] && cp .cache/models/tiny-llama.gguf "$dir"/
      for f in ../shared/models/*.gguf; do [ -f "$f" ] && cp "$f" "$dir"/; done
      ;;
  esac
  echo "$dir"
}

status=0
printf '%-10s %10s %8s %8s  %s\n' harness execs cov ft result
for h in "${harnesses[@]}"; do
  corpus=$(seed "$h")
  crashes=build-fuzz/crashes/$h
  mkdir -p "$crashes"
  dict=()
  [ -f "tests/fuzz/dict/$h.dict" ] && dict=("-dict=tests/fuzz/dict/$h.dict")
  log=$scratch/$h.log
  rc=0
  # 2 GB RSS limit and FUZZ_TIMEOUT s per input: an input that allocates or loops beyond that is
  # a finding.
  ASAN_OPTIONS=detect_leaks=1 "build-fuzz/fuzz_$h" "$corpus" "${dict[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-10}" -max_len=65536 \
    -runs="${FUZZ_MAX_RUNS:--1}" \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  if [ "$rc" = 0 ]; then
    result=ok
  else
    result="FOUND (exit $rc): $(ls "$crashes" | head -3 | tr '\n' ' ')"
    grep -m3 -E "ERROR: |SUMMARY: |runtime error|^${h}_fuzz: " "$log" | sed 's/^/    /' >&2 || true
    # The whole log (stack, the harness's own message) stays with the reproducer: a finding that
    # does not reproduce alone can still be read.
    cp "$log" "$crashes/$h.log" || true
    status=1
  fi
  printf '%-10s %10s %8s %8s  %s\n' "$h" "$execs" "$cov" "$ft" "$result"
done
exit $status
