#!/usr/bin/env bash
# The main job: compile examples/split-sentence and run it on the embedded store, printing the
# words and word lengths it computes from the sample sentences; then the stateful
# examples/word-counter (a tumbling window with arrow-row state and sql() in its flush).
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

# A stateful pipeline: per 20 s window of event time, the 3 most used words (examples/word-counter).
example=examples/word-counter
export SSCC_STORE="$work/store-word-counter"   # its own store: both examples have a `sentences` topic
echo
show sscc topic produce sentences --file "$example/input/sentences.txt"
show sscc run "$example/dataflow.yaml" --until-idle
show sscc topic consume most-used-words --from-beginning --until-idle
show sscc topic consume word-processing-window.dead-letters --from-beginning --until-idle
show sscc sql "select count(*) as open_rows from count_per_word"
if diff <(sscc topic consume most-used-words --from-beginning --until-idle) "$example/expected/most-used-words.txt" >/dev/null; then
  echo "most-used-words match $example/expected/"
else
  echo "MISMATCH against $example/expected/" >&2
  exit 1
fi
