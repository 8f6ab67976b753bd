#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite (pytest's "no tests" exit 5 is a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test || exit 1
python3 -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
