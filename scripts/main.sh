#!/usr/bin/env bash
# The main job: check an example pipeline and draw its optimized operator graph.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
example=examples/split-sentence/dataflow.yaml
echo "\$ sscc check $example"
sscc check "$example"
echo
echo "\$ sscc ir $example"
sscc ir "$example"
echo
echo "\$ sscc ir $example --format mermaid"
sscc ir "$example" --format mermaid
