#!/usr/bin/env bash
# Builds oneTBB with ThreadSanitizer for the TSan test build (tools/run-tests.sh, build-tsan/) and
# prints the directory of its TBBConfig.cmake. Debian's libtbb12 is not instrumented: TSan then
# sees none of the synchronisation inside TBB's scheduler and reports every hand-off of a task
# between threads as a race (thousands per run). So the TSan build links the same oneTBB, built
# from Debian's own source package of the installed version with Debian's patches, by clang-14
# with -fsanitize=thread (TBB's own TBB_SANITIZE option). About 20 s; cached in .cache/tbb-tsan.
#
#   tools/tsan-tbb.sh      # prints .cache/tbb-tsan/VERSION/lib/cmake/TBB
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "tsan-tbb: FAILED: $*" >&2; exit 1; }
version=$(dpkg-query -W -f='${source:Version}' libtbb-dev 2>/dev/null) ||
  fail "libtbb-dev is not installed (tools/setup.sh installs it)"
source_pkg=$(dpkg-query -W -f='${source:Package}' libtbb-dev)
prefix=$PWD/.cache/tbb-tsan/$version
if [ -f "$prefix/lib/cmake/TBB/TBBConfig.cmake" ]; then
  echo "$prefix/lib/cmake/TBB"
  exit 0
fi
command -v clang++-14 >/dev/null || fail "needs clang++-14 (tools/setup.sh --tests installs it)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian's source index in a private apt state directory: the machine's apt configuration and
# lists are not touched, and no root is needed. Signatures are checked against Debian's keyring,
# and the downloaded files against the index's checksums.
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/sources" "$work/src"
cat >"$work/sources/debian-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/sources"
  -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User="$(id -un)")
apt-get "${apt_opts[@]}" -qq update >"$work/apt.log" 2>&1 ||
  { tail -n 20 "$work/apt.log" >&2; fail "apt-get update of Debian's source index"; }
(cd "$work/src" && apt-get "${apt_opts[@]}" -qq --download-only source "$source_pkg=$version") \
  >>"$work/apt.log" 2>&1 ||
  { tail -n 20 "$work/apt.log" >&2; fail "apt-get source $source_pkg=$version"; }
cd "$work/src"
tar xf ./*.orig.tar.* && tar xf ./*.debian.tar.* || fail "unpacking the $source_pkg source"
tree=$(find . -maxdepth 1 -type d -name 'oneTBB-*' | head -1)
[ -n "$tree" ] || fail "no oneTBB-* directory in the $source_pkg source"
if [ -f debian/patches/series ]; then
  while read -r p; do
    [ -n "$p" ] && [ "${p#\#}" = "$p" ] || continue
    patch -d "$tree" -p1 -s <"debian/patches/$p" || fail "Debian patch $p does not apply"
  done <debian/patches/series
fi
# TBB_STRICT=OFF: clang warns about TSan and fences; only TBB itself, no tests, no hwloc binding,
# no allocator (the project does not use tbbmalloc).
CXX=clang++-14 CC=clang-14 cmake -S "$tree" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTBB_TEST=OFF -DTBB_STRICT=OFF -DTBB_SANITIZE=thread -DTBBMALLOC_BUILD=OFF \
  -DTBB_DISABLE_HWLOC_AUTOMATIC_SEARCH=ON -DCMAKE_INSTALL_PREFIX="$prefix.tmp" >"$work/build.log" 2>&1 &&
  cmake --build "$work/build" >>"$work/build.log" 2>&1 &&
  cmake --install "$work/build" >>"$work/build.log" 2>&1 ||
  { tail -n 30 "$work/build.log" >&2; fail "building oneTBB with ThreadSanitizer"; }
rm -rf "$prefix" && mv "$prefix.tmp" "$prefix" || fail "cannot write $prefix"
echo "$prefix/lib/cmake/TBB"
