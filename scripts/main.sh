#!/usr/bin/env bash
# The main job: compile examples/split-sentence and run it on the embedded store, printing the
# words and word lengths it computes from the sample sentences.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
example=examples/split-sentence
work=$(mktemp -d "${TMPDIR:-/tmp}/sscc-main.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SSCC_STORE="$work/store"   # a fresh store each time, so the output below is exactly this run's

show() { echo "\$ $*"; "$@"; echo; }

show sscc check "$example/dataflow.yaml"
show sscc ir "$example/dataflow.yaml"
show sscc compile "$example/dataflow.yaml" -o "$work/split-sentence" --depfile "$work/split-sentence.d"
(cd "$work/split-sentence" && find . -type f -not -path "*/sscc_runtime/*" | sort)
echo
echo "\$ cat $example/input/sentences.txt"
cat "$example/input/sentences.txt"
echo
show sscc topic produce sentences --file "$example/input/sentences.txt"
show sscc run "$example/dataflow.yaml" --until-idle
show sscc topic consume words --from-beginning --until-idle
show sscc topic consume word-lengths --from-beginning --until-idle
show sscc topic list
if diff <(sscc topic consume words --from-beginning --until-idle) "$example/expected/words.txt" >/dev/null &&
   diff <(sscc topic consume word-lengths --from-beginning --until-idle) "$example/expected/word-lengths.txt" >/dev/null; then
  echo "words and word-lengths match $example/expected/"
else
  echo "MISMATCH against $example/expected/" >&2
  exit 1
fi
