#!/usr/bin/env bash
# Installs everything sscc needs on a fresh Debian machine: the Rust->wasm32 toolchain and
# offline crates from Debian, then sscc itself (with its test extras when asked: setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per group, so that adding a package does not conflict with another change.
APT_PACKAGES="bubblewrap rustc cargo libstd-rust-dev-wasm32 graphviz make"
APT_PACKAGES="$APT_PACKAGES librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-anyhow-dev"
APT_PACKAGES="$APT_PACKAGES librust-regex-dev librust-chrono-dev librust-sha2-dev librust-serde-yaml-dev librust-base64-dev librust-http-dev"
APT_PACKAGES="$APT_PACKAGES nats-server"  # tests/nats start real servers
# headless Chromium for tests/ui (the page of `sscc run --ui`, driven by selenium)
[ "${1:-}" = "test" ] && APT_PACKAGES="$APT_PACKAGES chromium chromium-driver"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi

extras="[ui]"  # `sscc run --ui` / `--metrics` work out of the box (docs/ui.md)
[ "${1:-}" = "test" ] && extras="[test]"  # includes [ui]
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".${extras}" 2>&1 | grep -v -i "warning" || true
python3 -c "import sscc" || { echo "setup: sscc did not install" >&2; exit 1; }
# An editable install compiles no bytecode, and with PYTHONDONTWRITEBYTECODE set (as on this
# machine) Python never writes it either: every `sscc` would then recompile its sources
# (~150 ms of a 300 ms `sscc check`). compileall writes it regardless of that variable.
python3 -m compileall -q compiler grammars runtime_stub >/dev/null || true
