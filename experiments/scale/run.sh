#!/usr/bin/env bash
# Side-by-side benchmark: the whole `fellegi link` run (load, train, predict, cluster, write) against
# Splink 5's splink_scale.py on the same gen_people.py files, back to back on this machine, at
# several sizes. Writes experiments/scale/results/sizes.json (every size: both tools' wall time,
# peak RSS and F1, and the ratios) and results/latest.json (the largest size, same fields).
# Needs the reference venv (../shared/bench/setup.sh); never part of CI.
# usage: experiments/scale/run.sh [DATA_DIR] [VENV]
#   SIZES="6000 30000 120000 700000" (entities per file; 700000 gives the 1,162,717-record file)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared"
dir="${1:-/tmp}"
venv="${2:-/tmp/fellegi-ref-venv}"
sizes="${SIZES:-6000 30000 120000 700000}"
out="$root/experiments/scale/results"
mkdir -p "$out"
[ -x "$venv/bin/python" ] || "$shared/bench/setup.sh" "$venv"
(cd "$root" && cargo build --release -q)
tmp="$(mktemp -d)"
for n in $sizes; do
  data="$dir/people_$n.csv"
  [ "$n" = 700000 ] && [ -f "$dir/people1m.csv" ] && data="$dir/people1m.csv"
  [ -f "$data" ] || "$venv/bin/python" "$shared/bench/gen_people.py" "$n" 2 "$data" "$shared/datasets/generator-lookups"
  mkdir -p "$tmp/$n"
  /usr/bin/time -f '%e %M' -o "$tmp/$n/fellegi.time" "$root/target/release/fellegi" link --input "$data" \
    --settings "$root/experiments/scale/settings.toml" --min-probability 0.5 --threshold 0.5 \
    --out "$tmp/$n/fellegi" -q > "$tmp/$n/fellegi.stdout"
  /usr/bin/time -f '%e %M' -o "$tmp/$n/splink.time" "$venv/bin/python" "$shared/bench/splink_scale.py" "$data" > "$tmp/$n/splink.json"
  echo "$n entities: fellegi $(cat "$tmp/$n/fellegi.time"), splink $(cat "$tmp/$n/splink.time") (s, KB)" >&2
done
python3 - "$tmp" "$out" "$sizes" <<'PY'
import json, sys, os
tmp, out, sizes = sys.argv[1], sys.argv[2], sys.argv[3].split()
runs = []
for n in sizes:
    d = f"{tmp}/{n}"
    fw, fm = open(f"{d}/fellegi.time").read().split()
    sw, sm = open(f"{d}/splink.time").read().split()
    fmet = json.load(open(f"{d}/fellegi/metrics.json"))
    smet = json.loads(open(f"{d}/splink.json").read().strip().splitlines()[-1])
    res = {
      "data": f"gen_people.py {n} 2", "entities": int(n), "records": fmet["records"], "cpus": os.cpu_count(),
      "fellegi": {"wall_s": float(fw), "peak_rss_mb": round(int(fm) / 1024), "precision": fmet["precision"],
                  "recall": fmet["recall"], "f1": fmet["f1"], "seconds": fmet["seconds"]},
      "splink": {"wall_s": float(sw), "peak_rss_mb": round(int(sm) / 1024), "precision": smet["precision"],
                 "recall": smet["recall"], "f1": smet["f1"]},
    }
    res["wall_ratio_splink_over_fellegi"] = round(res["splink"]["wall_s"] / res["fellegi"]["wall_s"], 2)
    res["rss_ratio_splink_over_fellegi"] = round(res["splink"]["peak_rss_mb"] / res["fellegi"]["peak_rss_mb"], 2)
    runs.append(res)
def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2); f.write("\n")
dump({"runs": runs}, f"{out}/sizes.json")
dump(max(runs, key=lambda r: r["records"]), f"{out}/latest.json")
print(json.dumps([{k: r[k] for k in ("records", "wall_ratio_splink_over_fellegi", "rss_ratio_splink_over_fellegi")} for r in runs], indent=2))
PY
rm -rf "$tmp"
