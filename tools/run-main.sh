#!/usr/bin/env bash
# The main job on the bundled defaults: set up, build, and run the clean-text pipeline on the
# bundled sample requests. Results go to stdout (JSON Lines), the per-node summary to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
exec build/graph-runner run pipelines/fit-context.yaml --input pipelines/samples/requests.jsonl \
  --config configs/default.yaml "$@"
