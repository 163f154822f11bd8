#!/usr/bin/env bash
# F1 with and without term-frequency adjustments (issue 14 part 1) on the people file and the
# generated presets: each data set is linked with its default settings and with the same settings
# plus `term_frequency_adjustments = true` on given_name and surname (threshold 0.5, seed 42).
# Writes experiments/febrl4-splink-tf/results/f1-tf.json and prints a table.
# usage: experiments/febrl4-splink-tf/f1-tf.sh [PEOPLE_CSV]
#   PEOPLE_CSV: a gen_people.py file (`python3 ../shared/bench/gen_people.py 700000 2 FILE LOOKUPS`),
#   linked with experiments/scale/settings.toml when given.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${FELLEGI:-$root/target/release/fellegi}"
out="$root/experiments/febrl4-splink-tf/results"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
with_tf() { # settings -> the same with TF on the given_name and surname comparisons
  awk '/^column = "(given_name|surname)"$/ { print; tf = 1; next }
       tf && /^use = / { print; print "term_frequency_adjustments = true"; tf = 0; next }
       { print }' "$1" > "$2"
  [ "$(grep -c '^term_frequency_adjustments = true' "$2")" = 2 ] || { echo "TF not set in $2" >&2; exit 1; }
}
link() { # name settings inputs...
  local name="$1" settings="$2"; shift 2
  local args=()
  for f in "$@"; do args+=(--input "$f"); done
  "$bin" link "${args[@]}" --settings "$settings" --seed 42 --out "$tmp/$name" -q > /dev/null
  with_tf "$settings" "$tmp/$name-tf.toml"
  "$bin" link "${args[@]}" --settings "$tmp/$name-tf.toml" --seed 42 --out "$tmp/$name-tf" -q > /dev/null
  echo "$name" >> "$tmp/names"
}
for preset in low medium high; do
  g="$tmp/gen-$preset"
  "$bin" generate --entities 20000 --preset "$preset" --sources 2 --overlap 0.5 \
    --mean-duplicates 0 --seed 1 --out "$g" -q > /dev/null
  link "generated-$preset" "$root/experiments/generated-method-comparison/default.toml" "$g"/source_*.csv
done
if [ -n "${1:-}" ]; then
  link people "$root/experiments/scale/settings.toml" "$1"
fi
python3 - "$tmp" "$out" <<'PY'
import json, sys
tmp, out = sys.argv[1], sys.argv[2]
rows = []
for name in open(f"{tmp}/names").read().split():
    for tf in (False, True):
        m = json.load(open(f"{tmp}/{name}{'-tf' if tf else ''}/metrics.json"))
        rows.append({"dataset": name, "tf": tf, "tp": m["true_positives"], "fp": m["false_positives"],
                     "fn": m["false_negatives"], "precision": m["precision"], "recall": m["recall"], "f1": m["f1"]})
json.dump(rows, open(f"{out}/f1-tf.json", "w"), indent=1)
print("| dataset | TF on given_name, surname | TP / FP / FN | precision | recall | F1 |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['dataset']} | {'yes' if r['tf'] else 'no'} | {r['tp']} / {r['fp']} / {r['fn']} | {r['precision']:.5f} | {r['recall']:.5f} | {r['f1']:.5f} |")
PY
