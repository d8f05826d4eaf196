#!/usr/bin/env bash
# The whole test suite: set up, build, run every test; then the same under AddressSanitizer +
# UndefinedBehaviorSanitizer in build-asan/. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build

# Test-only tools: promtool (Debian prometheus) checks the Prometheus exposition, headless
# Chromium renders the HTML run report. Installed only when missing.
missing=()
for p in prometheus chromium; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "run-tests: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
(cd build && ctest --output-on-failure -j 2 --timeout 600)

tools/setup.sh build-asan -DREFINERY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest --output-on-failure -j 2 --timeout 900 -E install_and_embed)
