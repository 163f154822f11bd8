#!/usr/bin/env bash
# Exhaustive linkage benchmark (see README.md).
# Usage: experiments/exhaustive/run.sh [DATA_DIR] [REPEATS]
# The data generator needs numpy: set PYTHON to an interpreter that has it, e.g. the one from
# `../shared/bench/setup.sh` (PYTHON=/tmp/fellegi-ref-venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/two}
REPEATS=${2:-5}
PYTHON=${PYTHON:-python3}
if [ ! -f "$DIR/a.csv" ]; then
  "$PYTHON" ../shared/bench/gen_two_sources.py 100000 0.5 1 "$DIR" ../shared/datasets/generator-lookups
fi
(head -1 "$DIR/a.csv"; tail -n +2 "$DIR/a.csv"; tail -n +2 "$DIR/b.csv") > "$DIR/all.csv"
cargo build --release -q
# One line per run: wall seconds, peak RSS (KB), F1; phases on stderr with FELLEGI_TIMING=1.
run() {
  local out=$1; shift
  /usr/bin/time -f '%e s wall, %M KB peak' target/release/fellegi link "$@" --exhaustive \
    --out "$out" -q 2>&1 | grep -E 'wall|F1' | tr -s ' ' | tr '\n' ' '
  echo
}
echo "== link, 100,000 x 100,000 (10^10 pairs), threshold 0.85"
for _ in $(seq "$REPEATS"); do
  run /tmp/ex --input "$DIR/a.csv" --input "$DIR/b.csv" \
    --settings experiments/exhaustive/settings.toml --threshold 0.85 --min-probability 0.85
done
# At fastLink's posterior threshold 0.85 and at fellegi's default 0.5 (in a dedupe of the two
# files, within-file pairs double the non-matching pairs, so the posteriors of borderline true
# pairs halve in odds; see README.md).
for t in 0.85 0.5; do
  echo "== dedupe, 200,000 records (a.csv and b.csv concatenated, 2*10^10 pairs), threshold $t"
  for _ in $(seq "$REPEATS"); do
    run /tmp/exd --input "$DIR/all.csv" --settings experiments/exhaustive/settings_dedupe.toml \
      --threshold $t --min-probability $t
  done
done
