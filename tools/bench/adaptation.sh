#!/usr/bin/env bash
# Loop adaptation, off vs on: pipelines/refine.yaml over the 100 BBC articles of
# ../shared/data/summarization, the whole workload twice in one run (200 requests, one type),
# then the same with `adapt: true` on its loop. Prints, per half: mean passes, pass rate, summary
# tokens spent over all passes (loop.spent), mean score.total, mean start pass; per run: latency
# per refinement cycle (pass) and per request, p50 and p95, from the run report.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=../shared/data/summarization
OUT=${1:-/tmp/refinery-adaptation}
[ -f "$DATA/bbc-100.jsonl" ] || { echo "adaptation: needs $DATA (the shared data)" >&2; exit 2; }
mkdir -p "$OUT"
node -e '
const fs = require("fs");
const docs = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
const lines = [];
for (const round of [1, 2]) for (const d of docs) lines.push(JSON.stringify({id: d.id + "#" + round, type: "news", text: d.document, reference: d.reference}));
fs.writeFileSync(process.argv[2], lines.join("\n") + "\n");
' "$DATA/bbc-100.jsonl" "$OUT/input.jsonl"
sed 's/^    on_exhausted: best$/    on_exhausted: best\n    adapt: true/' pipelines/refine.yaml > "$OUT/refine-adapt.yaml"
grep -q "adapt: true" "$OUT/refine-adapt.yaml"
# Caches off: the second round would otherwise be served from them, and latency per cycle would
# measure the cache, not the refinement.
printf 'cache:\n  defaults: {enabled: false}\n' > "$OUT/no-cache.yaml"
for variant in off on; do
  pipeline=pipelines/refine.yaml
  [ "$variant" = on ] && pipeline="$OUT/refine-adapt.yaml"
  # --ordered --threads 1: every run sees the same order, so the numbers repeat.
  build/graph-runner run "$pipeline" --input "$OUT/input.jsonl" --ordered --threads 1 --no-progress --no-summary --config "$OUT/no-cache.yaml" \
    -o "$OUT/results-$variant.jsonl" --report "$OUT/report-$variant.json"
  node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
const half = rows.length / 2;
for (const [name, part] of [["first 100", rows.slice(0, half)], ["second 100", rows.slice(half)]]) {
  const mean = (k) => part.reduce((a, r) => a + (r.scores[k] || 0), 0) / part.length;
  const spent = part.reduce((a, r) => a + (r.scores["loop.spent"] || 0), 0);
  console.log(`adapt ${process.argv[2]}, ${name}: passes ${mean("loop.passes").toFixed(2)}, passed ${(100 * mean("loop.passed")).toFixed(0)}%, ` +
              `tokens spent ${spent}, score.total ${mean("score.total").toFixed(4)}, start pass ${mean("loop.start_pass").toFixed(2)}`);
}' "$OUT/results-$variant.jsonl" "$variant"
  node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const t of r.types || []) {
  const p = t.pass_latency || {}, l = t.latency || {};
  console.log(`adapt ${process.argv[2]}: latency per refinement cycle p50 ${(p.p50_us / 1000).toFixed(2)} ms, p95 ${(p.p95_us / 1000).toFixed(2)} ms; ` +
              `per request p50 ${(l.p50_us / 1000).toFixed(2)} ms, p95 ${(l.p95_us / 1000).toFixed(2)} ms`);
}' "$OUT/report-$variant.json" "$variant"
done
