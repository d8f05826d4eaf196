#!/usr/bin/env bash
# The tokenize node inside a pipeline: graph-runner over 4 KiB slices of linux-doc (as JSON
# Lines requests), `tokenize` alone with caches off, on 1 and 2 threads; requests/s and MB/s of
# text, best of 3 runs each.
#   tools/bench/tokenize-pipeline.sh [BUILD_DIR] [TEXT_FILE] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
TEXT=${2:-../shared/data/text/linux-doc.txt}
REQUESTS=${3:-8000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
node -e '
  const fs = require("fs");
  const text = fs.readFileSync(process.argv[1]);
  const out = [];
  let pos = 0;
  for (let i = 0; i < Number(process.argv[2]); ++i) {
    if (pos >= text.length) pos = 0;  // more requests than the text holds: from the start again
    let end = Math.min(pos + 4096, text.length);
    while (end < text.length && (text[end] & 0xC0) === 0x80) --end;  // whole UTF-8 characters
    out.push(JSON.stringify({id: String(i), text: text.subarray(pos, end).toString("utf8")}));
    pos = end;
  }
  fs.writeFileSync(process.argv[3], out.join("\n") + "\n");
' "$TEXT" "$REQUESTS" "$OUT/requests.jsonl"
cat > "$OUT/tokenize.yaml" <<'YAML'
pipeline: tokenize-only
nodes:
  - {id: tok, type: tokenize, fields: [text], ids: true, special: ordinary}
YAML
cat > "$OUT/nocache.yaml" <<'YAML'
cache:
  nodes: {tok: {enabled: false}}
YAML
bytes=$(node -e 'let b=0; for (const l of require("fs").readFileSync(process.argv[1],"utf8").split("\n")) if (l) b += Buffer.byteLength(JSON.parse(l).text); console.log(b)' "$OUT/requests.jsonl")
echo "tokenize in graph-runner: $(wc -l < "$OUT/requests.jsonl") requests, $bytes bytes of text, caches off, best of 3"
for threads in 1 2; do
  best=0
  for rep in 1 2 3; do
    "$BUILD/graph-runner" run "$OUT/tokenize.yaml" --input "$OUT/requests.jsonl" --threads $threads \
      --config "$OUT/nocache.yaml" --report "$OUT/r.json" >/dev/null 2>&1
    v=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(Math.round(r.succeeded/r.wall_seconds))' "$OUT/r.json")
    [ "$v" -gt "$best" ] && best=$v
  done
  node -e 'console.log(`  ${process.argv[1]} thread(s): ${process.argv[2]} requests/s, ${(process.argv[2]*process.argv[3]/process.argv[4]/1e6).toFixed(1)} MB/s`)' \
    $threads $best $bytes "$(wc -l < "$OUT/requests.jsonl")"
done
