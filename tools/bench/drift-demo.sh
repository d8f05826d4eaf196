#!/usr/bin/env bash
# Drift detection on a run whose input changes half-way: the refinement pipeline
# (pipelines/refine.yaml) over the 100 BBC news articles of ../shared/data/summarization, then the
# 51 Opinosis review clusters sent as the same request type ("news"). configs/drift-demo.yaml
# takes the first 60 results as the baseline. Prints the alerts; writes the JSON and HTML reports
# to the output directory (default /tmp/refinery-drift-demo).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=../shared/data/summarization
OUT=${1:-/tmp/refinery-drift-demo}
[ -f "$DATA/bbc-100.jsonl" ] || { echo "drift-demo: needs $DATA (the shared data)" >&2; exit 2; }
mkdir -p "$OUT"
node -e '
const fs = require("fs");
const lines = [];
for (const [file, n] of [[process.argv[1] + "/bbc-100.jsonl", 100], [process.argv[1] + "/opinosis.jsonl", 51]]) {
  for (const line of fs.readFileSync(file, "utf8").split("\n").filter(Boolean).slice(0, n)) {
    const d = JSON.parse(line);
    lines.push(JSON.stringify({id: d.id, type: "news", text: d.document, reference: d.reference}));
  }
}
fs.writeFileSync(process.argv[2], lines.join("\n") + "\n");
' "$DATA" "$OUT/input.jsonl"
rm -f "$OUT/alerts.jsonl"
build/graph-runner run pipelines/refine.yaml --input "$OUT/input.jsonl" --ordered --threads 1 \
  --config configs/drift-demo.yaml --alerts "$OUT/alerts.jsonl" --report "$OUT/report.json" \
  --report-html "$OUT/report.html" -o "$OUT/results.jsonl" --no-progress
echo "alerts ($OUT/alerts.jsonl):"
cat "$OUT/alerts.jsonl"
