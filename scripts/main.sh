#!/usr/bin/env bash
# The main job: compile examples/split-sentence and run it on the embedded store, printing the
# words and word lengths it computes from the sample sentences; then the stateful
# examples/word-counter (a tumbling window with arrow-row state and sql() in its flush); then
# examples/car-makers, whose operator calls a local HTTP registry that this script starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
example=examples/split-sentence
work=$(mktemp -d "${TMPDIR:-/tmp}/sscc-main.XXXXXX")
registry_pid=""   # examples/car-makers' local HTTP registry, stopped on exit
trap 'if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
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

# HTTP from operators: each car's maker looked up in the example's own registry (registry.py) on
# a free loopback port; a 404 is a normal response, a 500 the operator's Err (a dead letter).
example=examples/car-makers
export SSCC_STORE="$work/store-car-makers"
echo
python3 "$example/registry.py" --port-file "$work/registry.port" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do [ -s "$work/registry.port" ] && break; sleep 0.1; done
[ -s "$work/registry.port" ] || { echo "the registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1; }
registry="http://127.0.0.1:$(cat "$work/registry.port")"
echo "registry listening on $registry (pid $registry_pid)"
sed "s|REGISTRY_URL|$registry|g" "$example/input/cars.txt" >"$work/cars.txt"
show sscc topic produce cars --file "$work/cars.txt"
show sscc run "$example/dataflow.yaml" --until-idle --http-allow 127.0.0.1
show sscc topic consume car-makers --from-beginning --until-idle
show sscc topic consume lookup-maker.dead-letters --from-beginning --until-idle
kill "$registry_pid" && wait "$registry_pid" 2>/dev/null || true
registry_pid=""
if diff <(sscc topic consume car-makers --from-beginning --until-idle | python3 -c 'import json,sys; [print(json.dumps(json.loads(l), sort_keys=True)) for l in sys.stdin]') \
        <(python3 -c 'import json,sys; [print(json.dumps(json.loads(l), sort_keys=True)) for l in open(sys.argv[1])]' "$example/expected/car-makers.txt") >/dev/null &&
   [ "$(sscc topic consume lookup-maker.dead-letters --from-beginning --until-idle | python3 -c 'import json,sys; print([(d["offset"], d["reason"]) for d in map(json.loads, sys.stdin)])')" = \
     "$(python3 -c 'import json,sys; print([(d["offset"], d["reason"]) for d in map(json.loads, open(sys.argv[1]))])' "$example/expected/lookup-maker.dead-letters.txt")" ]; then
  echo "car-makers and its dead letters match $example/expected/"
else
  echo "MISMATCH against $example/expected/" >&2
  exit 1
fi
