#!/usr/bin/env bash
# The main job on the bundled defaults: set up, build, and run the refinement pipeline
# (pipelines/refine.yaml: clean, tokenize, truncate to a budget, summarize, score, and loop until
# the score passes or the budget is spent) on the bundled sample documents and requests.
# Results go to stdout (JSON Lines), the run summary to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
exec build/graph-runner run pipelines/refine.yaml --input pipelines/samples/documents.jsonl \
  --input pipelines/samples/requests.jsonl --config configs/default.yaml "$@"
