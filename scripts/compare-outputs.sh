#!/usr/bin/env bash
# Writes the outputs of one fellegi binary over every shipped dataset and a matrix of link
# options into OUT_DIR, with the run-time fields (seconds, runtime, git commit, peak memory)
# removed, so that two binaries can be compared byte for byte:
#   scripts/compare-outputs.sh OLD_BIN /tmp/a; scripts/compare-outputs.sh NEW_BIN /tmp/b; diff -r /tmp/a /tmp/b
# Used to check that a refactoring changes no output (issue 12).
set -euo pipefail
bin="$(realpath "$1")"; out="$2"
cd "$(dirname "$0")/.."
mkdir -p "$out"
strip() { # drop run-time fields from a JSON file, in place
  python3 - "$1" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
def walk(x):
    if isinstance(x, dict):
        for k in ("seconds", "runtime_s", "git_commit", "peak_rss_mb"):
            x.pop(k, None)
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(d)
json.dump(d, open(p, "w"), indent=1, sort_keys=True)
PY
}
run() { # NAME ARGS...: one link run, stdout kept without its timing line
  local name="$1"; shift
  local dir="$out/$name"
  set +e
  "$bin" link "$@" -q --out "$dir" >"$out/$name.stdout" 2>"$out/$name.stderr"
  echo "exit $?" >>"$out/$name.stdout"
  set -e
  sed -i -e '/^  seconds /d' -e '/^  outputs /d' "$out/$name.stdout"
  [ -f "$dir/metrics.json" ] && strip "$dir/metrics.json"
  true
}
for d in $("$bin" datasets list | awk 'NR>1 {print $1}'); do
  run "$d" --dataset "$d"
done
run febrl4-oracle --dataset febrl4 --oracle
run febrl4-rules --dataset febrl4 --rules-only
run febrl4-exhaustive --dataset febrl4 --exhaustive --threshold 0.85 --one-to-one greedy
run febrl3-exhaustive --dataset febrl3 --exhaustive
run febrl4-o2o-optimal --dataset febrl4 --one-to-one optimal --seed 7
run febrl4-fs-rates --dataset febrl4 --fs-rates 1e-7,0.05
run febrl4-fs-weights --dataset febrl4 --fs-weights 10,0 --fs-scale bayes-factor
run febrl4-threshold-weight --dataset febrl4 --threshold-weight 3 --min-probability 0.001
run febrl4-report --dataset febrl4 --report
run transactions-o2o --dataset transactions --one-to-one greedy
run febrl3-threads1 --dataset febrl3 --threads 1
run bad-fs --dataset febrl4 --fs-rates 2,3
run bad-o2o --dataset febrl3 --one-to-one greedy
# Train, predict, cluster, evaluate, explain as separate commands.
set +e
"$bin" train --dataset febrl3 --out "$out/split-train" -q >"$out/split.stdout" 2>&1
"$bin" predict --dataset febrl3 --model "$out/split-train/model.json" --out "$out/split-predict" -q >>"$out/split.stdout" 2>&1
"$bin" cluster --pairs "$out/split-predict/pairs.csv" --threshold 0.5 --out "$out/split-cluster" >>"$out/split.stdout" 2>&1
"$bin" evaluate --pairs "$out/split-predict/pairs.csv" --dataset febrl3 >>"$out/split.stdout" 2>&1
"$bin" explain --model "$out/febrl4/model.json" --dataset febrl4 --pair dataset4a:rec-1070-org dataset4b:rec-1070-dup-0 >>"$out/split.stdout" 2>&1
set -e
sed -i -E 's/[0-9]+\.[0-9]+ ?s\b/<time>/g' "$out/split.stdout"
# Experiments, quick profile.
"$bin" experiment run --all --quick --force --results "$out/experiments" >/dev/null 2>&1 || true
find "$out/experiments" -name '*.json' | while read -r f; do strip "$f"; done
echo "outputs in $out"
