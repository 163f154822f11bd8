#!/usr/bin/env bash
# Splink interop check on FEBRL4 (see README.md): fellegi's model in Splink, Splink's model in
# fellegi, the same match weight for every pair. Writes results/roundtrip.json.
# Needs the reference venv (../shared/bench/setup.sh; reused when it already has Splink); never
# part of CI.  usage: experiments/febrl4-splink-roundtrip/run.sh [VENV]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared"
venv="${1:-/tmp/fellegi-ref-venv}"
"$venv/bin/python" -c "import splink" 2>/dev/null || "$shared/bench/setup.sh" "$venv"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -q)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$root/experiments/febrl4-splink-roundtrip/results"
(cd "$root" && "$venv/bin/python" experiments/febrl4-splink-roundtrip/roundtrip.py \
  "$target/release/fellegi" "$root/datasets/febrl" "$work" \
  "$root/experiments/febrl4-splink-roundtrip/results/roundtrip.json")
