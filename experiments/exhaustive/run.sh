#!/usr/bin/env bash
# Exhaustive linkage benchmark (see README.md). Usage: experiments/exhaustive/run.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/two}
if [ ! -f "$DIR/a.csv" ]; then
  python3 ../shared/bench/gen_two_sources.py 100000 0.5 1 "$DIR" ../shared/datasets/generator-lookups
fi
cargo build --release -q
echo "== link, 100,000 x 100,000"
FELLEGI_TIMING=1 /usr/bin/time -f '%e s %M KB' target/release/fellegi link \
  --input "$DIR/a.csv" --input "$DIR/b.csv" --settings experiments/exhaustive/settings.toml \
  --exhaustive --threshold 0.85 --min-probability 0.85 --out /tmp/ex -q
echo "== dedupe, 200,000 (a.csv and b.csv concatenated)"
(head -1 "$DIR/a.csv"; tail -n +2 "$DIR/a.csv"; tail -n +2 "$DIR/b.csv") > "$DIR/all.csv"
FELLEGI_TIMING=1 /usr/bin/time -f '%e s %M KB' target/release/fellegi link \
  --input "$DIR/all.csv" --settings experiments/exhaustive/settings_dedupe.toml \
  --exhaustive --threshold 0.85 --min-probability 0.85 --out /tmp/exd -q
