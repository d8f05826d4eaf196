#!/usr/bin/env bash
# Summarization quality and speed, with the peer measured in the same run:
#   ROUGE-1/2/Lsum F1 (stemmed, mean and bootstrap 95% interval) per method on bbc-100, xsum-10 and
#   opinosis, next to npm ts-textrank on the same documents at the same target; then documents
#   per second of summarize and score on 1 and 2 threads.
#
#   tools/bench/summarization.sh [BUILD_DIR] [SHARED_DATA_DIR]
#
# Targets per set follow the references' length: bbc-100 keeps 42% of the tokens (ts-textrank
# keeps 40% of the sentences: the same share of tokens on this set, see the `comp` column);
# xsum-10 (one-sentence references) one sentence; opinosis (two-line references) two.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
DATA=${2:-../shared/data/summarization}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
RUNNER="$BUILD/graph-runner"

(cd tools/bench/summarization && [ -d node_modules/ts-textrank ] || npm install --no-audit --no-fund --silent)

target_args() {  # set -> graph-runner --set arguments and the peer's target
  case $1 in
    bbc-100) echo "--set summarize.ratio=0.42" ;;
    xsum-10) echo "--set summarize.ratio=0 --set summarize.sentences=1" ;;
    opinosis) echo "--set summarize.ratio=0 --set summarize.sentences=2" ;;
  esac
}

row() {  # name report.json
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
    const m = Object.fromEntries((r.metrics || []).map(x => [x.name, x]));
    const f = k => m[k] ? `${(100 * m[k].mean).toFixed(1)} [${(100 * m[k].low).toFixed(1)}, ${(100 * m[k].high).toFixed(1)}]` : "-";
    const c = m["score.compression"] ? m["score.compression"].mean.toFixed(3) : "-";
    console.log(process.argv[1].padEnd(22), f("score.rouge1.f").padEnd(20), f("score.rouge2.f").padEnd(20),
                f("score.rougeLsum.f").padEnd(20), c);
  ' "$1" "$2"
}

echo "ROUGE F1 x100, stemmed: mean [bootstrap 95% interval]; comp = summary tokens / document tokens"
printf '%-22s %-20s %-20s %-20s %s\n' "set / method" "ROUGE-1" "ROUGE-2" "ROUGE-Lsum" "comp"
for set in bbc-100 xsum-10 opinosis; do
  case $set in bbc-100) peer="ratio 0.4" ;; xsum-10) peer="count 1" ;; opinosis) peer="count 2" ;; esac
  node tools/bench/summarization/prepare.mjs "$DATA" "$OUT" "$set" "$peer" 2>"$OUT/peer-$set.txt"
  for method in lead textrank lexrank centroid; do
    # shellcheck disable=SC2046
    "$RUNNER" run pipelines/summarize-eval.yaml --input "$OUT/$set.jsonl" --set summarize.method=$method \
      $(target_args $set) --report "$OUT/r.json" >/dev/null 2>&1
    row "$set $method" "$OUT/r.json"
  done
  "$RUNNER" run pipelines/score-only.yaml --input "$OUT/$set.peer.jsonl" --report "$OUT/r.json" >/dev/null 2>&1
  row "$set ts-textrank" "$OUT/r.json"
done
cat "$OUT"/peer-*.txt

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
