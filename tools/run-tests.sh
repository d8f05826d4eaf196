#!/usr/bin/env bash
# The whole test suite: set up (packages, vocabularies, the tiny model, and the test-only tools
# promtool and chromium), build, run every test; then the same under AddressSanitizer +
# UndefinedBehaviorSanitizer in build-asan/, the threaded tests under ThreadSanitizer in
# build-tsan/, and every libFuzzer harness for FUZZ_SECONDS (default 20) in build-fuzz/.
# --no-sanitizers stops after the first suite. Exits non-zero on any failure.
#
#   tools/run-tests.sh [--no-sanitizers]
#
# A test may skip only when ../shared (test data beside the clone) is absent; with ../shared
# present, a skipped test fails the run. Each phase's time is printed to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=1
case "${1:-}" in
  --no-sanitizers) sanitizers=0 ;;
  "") ;;
  *) echo "usage: tools/run-tests.sh [--no-sanitizers]" >&2; exit 2 ;;
esac

phase_start=$SECONDS
phase() {
  echo "run-tests: [$((SECONDS - phase_start)) s] $*" >&2
  phase_start=$SECONDS
}

# The suite's only skip is the ../shared one (tests/support/set_up_material.h): anything set-up
# provides must fail a test when missing, never skip it.
if grep -rn "GTEST_SKIP" tests --include='*.cc' --include='*.h' | grep -v "tests/support/set_up_material.h"; then
  echo "run-tests: GTEST_SKIP outside tests/support/set_up_material.h (above); use REFINERY_SKIP_WITHOUT_SHARED" >&2
  exit 1
fi

tools/setup.sh --tests build
phase "set-up and build (build/)"

# Formatting stays as .clang-format says (Debian clang-format 14): the files that differ are
# listed; `git ls-files '*.cc' '*.h' | xargs clang-format -i` fixes them.
unformatted=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done < <(git ls-files '*.cc' '*.h' 2>/dev/null || find graph nodes tools tests -name '*.cc' -o -name '*.h')
if ((${#unformatted[@]})); then
  printf 'run-tests: not formatted as .clang-format says: %s\n' "${unformatted[@]}" >&2
  exit 1
fi
phase "formatting (${#unformatted[@]} files off)"

# Runs ctest in $1 with the remaining arguments; fails when a test skipped although ../shared is
# present (a skip then means something set-up should provide is missing).
run_ctest() {
  local dir=$1
  shift
  local log
  log=$(mktemp)
  local status=0
  (cd "$dir" && ctest --output-on-failure -j 2 "$@") 2>&1 | tee "$log" || status=$?
  local skipped
  skipped=$(grep -c "(Skipped)" "$log" || true)
  rm -f "$log"
  [ "$status" = 0 ] || return "$status"
  if [ -d ../shared ] && [ "$skipped" != 0 ]; then
    echo "run-tests: $skipped tests skipped in $dir although ../shared is present" >&2
    return 1
  fi
  [ -d ../shared ] || echo "run-tests: ../shared is absent: $skipped tests that need it skipped" >&2
}

run_ctest build --timeout 600
phase "tests (build/)"

((sanitizers)) || exit 0
tools/setup.sh build-asan -DREFINERY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
phase "build (build-asan/, ASan+UBSan)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
run_ctest build-asan --timeout 900 -E install_and_embed
phase "tests (build-asan/)"

# ThreadSanitizer on the tests that run many threads (engine, queues, loops, parallel groups,
# generator, monitor), built by clang-14 against a TSan-instrumented oneTBB (tools/tsan-tbb.sh
# says why). Reports fail the test (halt_on_error); suppressions, each justified: tests/tsan.supp.
tsan_tbb=$(tools/tsan-tbb.sh)
CXX=clang++-14 CC=clang-14 tools/setup.sh build-tsan -DREFINERY_TSAN=ON -DTBB_DIR="$tsan_tbb"
phase "build (build-tsan/, TSan)"
run_ctest build-tsan --timeout 900
phase "tests (build-tsan/)"

# Every libFuzzer harness for a short time as a regression check (tools/fuzz.sh; a finding keeps
# its reproducer in build-fuzz/crashes/ and fails the run).
tools/fuzz.sh "${FUZZ_SECONDS:-20}"
phase "fuzzing (build-fuzz/, ${FUZZ_SECONDS:-20} s per harness)"
