#!/usr/bin/env bash
# Term-frequency parity with Splink 5 on FEBRL4 (see README.md): the same model in both tools,
# the same match weight for every candidate pair. Writes results/parity.json.
# Needs the reference venv (../shared/bench/setup.sh; reused when it already has Splink); never
# part of CI.  usage: experiments/febrl4-splink-tf/run.sh [VENV]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared"
venv="${1:-/tmp/fellegi-ref-venv}"
"$venv/bin/python" -c "import splink" 2>/dev/null || "$shared/bench/setup.sh" "$venv"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -q)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$root/experiments/febrl4-splink-tf/results"
(cd "$root" && "$venv/bin/python" experiments/febrl4-splink-tf/parity.py \
  "$target/release/fellegi" "$root/datasets/febrl" "$work" \
  "$root/experiments/febrl4-splink-tf/results/parity.json")
