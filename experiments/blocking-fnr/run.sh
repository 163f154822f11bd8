#!/usr/bin/env bash
# Estimated against true false-negative rates (issue 14 part 3): every data set is linked with its
# default settings plus `training.bootstrap = B` (and `em_starts`), and metrics.json's true rate
# (1 − recall) is set beside the model's two estimates: among the pairs written only
# (`estimated.false_negative_rate`, blind to blocking) and blocking-aware
# (`estimated.false_negative_rate_of_admissible`, with its bootstrap interval).
# Writes experiments/blocking-fnr/results/fnr.json and prints a table.
# usage: experiments/blocking-fnr/run.sh [PEOPLE_CSV]
#   PEOPLE_CSV: a gen_people.py file (`python3 ../shared/bench/gen_people.py 700000 2 FILE`);
#   linked with experiments/scale/settings.toml when given. B=100 by default (env B).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${FELLEGI:-$root/target/release/fellegi}"
b="${B:-100}"
out="$root/experiments/blocking-fnr/results"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
with_bootstrap() { # settings file -> the same with bootstrap lines in [training]
  sed "0,/^\[training\]/s//[training]\nbootstrap = $b\nem_starts = 4/" "$1" > "$2"
}
link() { # name settings inputs...
  local name="$1" settings="$2"; shift 2
  with_bootstrap "$settings" "$tmp/$name.toml"
  local args=()
  for f in "$@"; do args+=(--input "$f"); done
  "$bin" link "${args[@]}" --settings "$tmp/$name.toml" --seed 1 --out "$tmp/$name" -q > /dev/null
  echo "$name" >> "$tmp/names"
}
d="$root/datasets"
link febrl3 "$d/settings/febrl_dedupe.toml" "$d/febrl/dataset3.csv"
link febrl4 "$d/settings/febrl4.toml" "$d/febrl/dataset4a.csv" "$d/febrl/dataset4b.csv"
for preset in low medium high; do
  g="$tmp/gen-$preset"
  "$bin" generate --entities 20000 --preset "$preset" --sources 2 --overlap 0.5 \
    --mean-duplicates 0 --seed 1 --out "$g" -q > /dev/null
  link "generated-$preset" "$root/experiments/generated-method-comparison/default.toml" "$g"/source_*.csv
done
if [ -n "${1:-}" ]; then
  link people "$root/experiments/scale/settings.toml" "$1"
fi
python3 - "$tmp" "$out" "$b" <<'PY'
import json, sys
tmp, out, b = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for name in open(f"{tmp}/names").read().split():
    m = json.load(open(f"{tmp}/{name}/metrics.json"))
    e = m["estimated"]
    iv = e.get("false_negative_rate_of_admissible_interval")
    true = 1 - m["recall"]
    rows.append({
        "dataset": name,
        "true_false_negative_rate": true,
        "estimated_among_pairs_written": e["false_negative_rate"],
        "estimated_blocking_aware": e.get("false_negative_rate_of_admissible"),
        "interval": iv,
        "brackets_truth": None if iv is None else iv[0] <= true <= iv[1],
        "blocking_recall_model": e.get("blocking_recall"),
        "pairs_completeness_true": m.get("pairs_completeness"),
        "note": e.get("false_negative_rate_of_admissible_note"),
    })
json.dump({"bootstrap": b, "seed": 1, "rows": rows}, open(f"{out}/fnr.json", "w"), indent=2)
print(f"{'dataset':<18}{'true FNR':>10}{'written':>10}{'aware':>10}  interval          brackets  R model / true")
for r in rows:
    iv = r["interval"] or [float("nan")] * 2
    aware = r["estimated_blocking_aware"]
    print(f"{r['dataset']:<18}{r['true_false_negative_rate']:>10.4f}{r['estimated_among_pairs_written']:>10.4f}"
          f"{aware if aware is not None else float('nan'):>10.4f}  [{iv[0]:.4f}, {iv[1]:.4f}]  {str(r['brackets_truth']):>8}"
          f"  {r['blocking_recall_model'] or float('nan'):.4f} / {r['pairs_completeness_true'] or float('nan'):.4f}")
PY
