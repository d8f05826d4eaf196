#!/usr/bin/env bash
# Summarization quality and speed, with the peer measured in the same run:
#   ROUGE-1/2/Lsum F1 (stemmed, mean and bootstrap 95% interval) per method on bbc-100, xsum-10 and
#   opinosis, next to npm ts-textrank on the same documents at the same target; then documents
#   per second of summarize and score on 1 and 2 threads.
#
#   tools/bench/summarization.sh [BUILD_DIR] [SHARED_DATA_DIR]
#
# bbc-100: the peer keeps 40% of the sentences (the references' length) and 25%; each method is
# shown at equal cost (the largest ratio whose compression does not exceed the peer's), since
# ROUGE F1 rises with length here. xsum-10 (one-sentence references) one sentence; opinosis
# (two-line references) two, for both.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
DATA=${2:-../shared/data/summarization}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
RUNNER="$BUILD/graph-runner"

(cd tools/bench/summarization && [ -d node_modules/ts-textrank ] || npm install --no-audit --no-fund --silent)

metric() {  # report.json name -> mean
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
           const m=(r.metrics||[]).find(x=>x.name===process.argv[2]); console.log(m?m.mean:0)' "$1" "$2"
}

row() {  # name report.json
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
    const m = Object.fromEntries((r.metrics || []).map(x => [x.name, x]));
    const f = k => m[k] ? `${(100 * m[k].mean).toFixed(1)} [${(100 * m[k].low).toFixed(1)}, ${(100 * m[k].high).toFixed(1)}]` : "-";
    const c = m["score.compression"] ? m["score.compression"].mean.toFixed(3) : "-";
    console.log(process.argv[1].padEnd(34), f("score.rouge1.f").padEnd(20), f("score.rouge2.f").padEnd(20),
                f("score.rougeLsum.f").padEnd(20), c);
  ' "$1" "$2"
}

run() {  # input report args... -> summarize-eval run
  local input=$1 report=$2
  shift 2
  "$RUNNER" run pipelines/summarize-eval.yaml --input "$input" --report "$report" "$@" >/dev/null 2>&1
}

echo "ROUGE F1 x100, stemmed: mean [bootstrap 95% interval]; comp = summary tokens / document tokens"
printf '%-34s %-20s %-20s %-20s %s\n' "set / method" "ROUGE-1" "ROUGE-2" "ROUGE-Lsum" "comp"
# bbc-100, token targets: the peer keeps 40% (the references' length) or 25% of the sentences;
# each method is shown at equal cost: the largest ratio (0.01 steps) whose mean compression
# does not exceed the peer's.
for target in "0.4:0.38 0.39 0.40 0.41 0.42 0.43 0.44 0.45 0.46 0.47 0.48" \
              "0.25:0.22 0.23 0.24 0.25 0.26 0.27 0.28 0.29 0.30"; do
  share=${target%%:*}
  node tools/bench/summarization/prepare.mjs "$DATA" "$OUT" bbc-100 "ratio $share" 2>>"$OUT/peer-bbc.txt"
  "$RUNNER" run pipelines/score-only.yaml --input "$OUT/bbc-100.peer.jsonl" --report "$OUT/peer.json" >/dev/null 2>&1
  peer_comp=$(metric "$OUT/peer.json" score.compression)
  for method in lead textrank lexrank centroid; do
    chosen=""
    for ratio in ${target#*:}; do
      run "$OUT/bbc-100.jsonl" "$OUT/r.json" --set summarize.method=$method --set summarize.ratio=$ratio
      comp=$(metric "$OUT/r.json" score.compression)
      node -e 'process.exit(Number(process.argv[1]) <= Number(process.argv[2]) ? 0 : 1)' "$comp" "$peer_comp" || break
      cp "$OUT/r.json" "$OUT/best.json"
      chosen=$ratio
    done
    [ -n "$chosen" ] && row "bbc-100/$share $method r=$chosen" "$OUT/best.json"
  done
  row "bbc-100/$share ts-textrank" "$OUT/peer.json"
done
# xsum-10 and opinosis: sentence targets as the references (one sentence; two).
for set in xsum-10 opinosis; do
  case $set in xsum-10) count=1 ;; opinosis) count=2 ;; esac
  node tools/bench/summarization/prepare.mjs "$DATA" "$OUT" "$set" "count $count" 2>"$OUT/peer-$set.txt"
  for method in lead textrank lexrank centroid; do
    run "$OUT/$set.jsonl" "$OUT/r.json" --set summarize.method=$method --set summarize.ratio=0 \
      --set summarize.sentences=$count
    row "$set $method" "$OUT/r.json"
  done
  "$RUNNER" run pipelines/score-only.yaml --input "$OUT/$set.peer.jsonl" --report "$OUT/r.json" >/dev/null 2>&1
  row "$set ts-textrank" "$OUT/r.json"
done
cat "$OUT"/peer-*.txt
# The throughput runs below use bbc-100 prepared at the references' length.
node tools/bench/summarization/prepare.mjs "$DATA" "$OUT" bbc-100 "ratio 0.4" 2>/dev/null

echo
echo "Throughput (bbc-100 x 20 = 2000 documents, default method (centroid), caches off, docs/s; best of 3)"
cat > "$OUT/nocache.yaml" <<'YAML'
cache:
  nodes: {summarize: {enabled: false}, score: {enabled: false}}
YAML
cat > "$OUT/summarize-only.yaml" <<'YAML'
pipeline: summarize-only
defaults: {encoding: cl100k_base}
nodes:
  - {id: summarize, type: summarize, ratio: 0.42}
YAML
for i in $(seq 20); do cat "$OUT/bbc-100.jsonl"; done > "$OUT/bbc-2000.jsonl"
for i in $(seq 20); do cat "$OUT/bbc-100.peer.jsonl"; done > "$OUT/peer-2000.jsonl"  # score: summaries + references
for threads in 1 2; do
  for what in summarize score; do
    best=0
    for rep in 1 2 3; do
      if [ $what = summarize ]; then
        "$RUNNER" run "$OUT/summarize-only.yaml" --input "$OUT/bbc-2000.jsonl" --threads $threads \
          --config "$OUT/nocache.yaml" --report "$OUT/t.json" >/dev/null 2>&1
        node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log((r.succeeded/r.wall_seconds).toFixed(0))' "$OUT/t.json" > "$OUT/v.txt"
      else
        "$RUNNER" run pipelines/score-only.yaml --input "$OUT/peer-2000.jsonl" --threads $threads \
          --config "$OUT/nocache.yaml" --report "$OUT/t.json" >/dev/null 2>&1
        node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log((r.succeeded/r.wall_seconds).toFixed(0))' "$OUT/t.json" > "$OUT/v.txt"
      fi
      v=$(cut -d' ' -f1 "$OUT/v.txt")
      [ "$v" -gt "$best" ] && best=$v
    done
    echo "  $what, $threads thread(s): $best docs/s (whole pipeline wall clock)"
  done
done
