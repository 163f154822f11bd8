#!/usr/bin/env bash
# Side-by-side benchmark: the whole `fellegi link` run (load, train, predict, cluster, write) against
# Splink 5's splink_scale.py on the same 1,162,717-record file, back to back on this machine.
# Writes experiments/scale/results/latest.json with both tools' wall time, peak RSS and F1, and the
# ratios. Needs the reference venv (../shared/bench/setup.sh); never part of CI.
# usage: experiments/scale/run.sh [PEOPLE_CSV] [VENV]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$root/../shared"
data="${1:-/tmp/people1m.csv}"
venv="${2:-/tmp/fellegi-ref-venv}"
out="$root/experiments/scale/results"
mkdir -p "$out"
[ -x "$venv/bin/python" ] || "$shared/bench/setup.sh" "$venv"
[ -f "$data" ] || "$venv/bin/python" "$shared/bench/gen_people.py" 700000 2 "$data" "$shared/datasets/generator-lookups"
(cd "$root" && cargo build --release -q)
tmp="$(mktemp -d)"
/usr/bin/time -f '%e %M' -o "$tmp/fellegi.time" "$root/target/release/fellegi" link --input "$data" \
  --settings "$root/experiments/scale/settings.toml" --min-probability 0.5 --threshold 0.5 \
  --out "$tmp/fellegi" -q > "$tmp/fellegi.stdout"
/usr/bin/time -f '%e %M' -o "$tmp/splink.time" "$venv/bin/python" "$shared/bench/splink_scale.py" "$data" > "$tmp/splink.json"
python3 - "$tmp" "$out/latest.json" "$data" <<'PY'
import json, sys, platform, os
tmp, dst, data = sys.argv[1:4]
fw, fm = open(f"{tmp}/fellegi.time").read().split()
sw, sm = open(f"{tmp}/splink.time").read().split()
fmet = json.load(open(f"{tmp}/fellegi/metrics.json"))
smet = json.loads(open(f"{tmp}/splink.json").read().strip().splitlines()[-1])
res = {
  "data": os.path.basename(data), "records": fmet["records"], "cpus": os.cpu_count(),
  "fellegi": {"wall_s": float(fw), "peak_rss_mb": round(int(fm) / 1024), "precision": fmet["precision"],
              "recall": fmet["recall"], "f1": fmet["f1"], "seconds": fmet["seconds"]},
  "splink": {"wall_s": float(sw), "peak_rss_mb": round(int(sm) / 1024), "precision": smet["precision"],
             "recall": smet["recall"], "f1": smet["f1"]},
}
res["wall_ratio_splink_over_fellegi"] = round(res["splink"]["wall_s"] / res["fellegi"]["wall_s"], 2)
res["rss_ratio_splink_over_fellegi"] = round(res["splink"]["peak_rss_mb"] / res["fellegi"]["peak_rss_mb"], 2)
json.dump(res, open(dst, "w"), indent=2); open(dst, "a").write("\n")
print(json.dumps(res, indent=2))
PY
rm -rf "$tmp"
