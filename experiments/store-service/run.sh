#!/usr/bin/env bash
# Speed of the incremental store and the service (issue 16, part 6) on the 1,162,717-record
# people file: train the scale model, create the store (timed, peak RSS), add 10,000 records
# (timed, peak RSS; they are copies of stored records under new ids, so each one joins or
# merges clusters: the heavy case), then serve the store and run the POST /match load test
# (benches/serve_load.rs: p50/p99, throughput, errors). Loopback only, bounded in count and
# time. Writes experiments/store-service/results/latest.json. Never part of CI.
# usage: experiments/store-service/run.sh [PEOPLE.csv] [WORK_DIR]
#   the people file: python3 ../shared/bench/gen_people.py 700000 2 people.csv ../shared/datasets/generator-lookups
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
people="${1:-/tmp/people1m.csv}"
work="${2:-/tmp/store-bench}"
bin="${FELLEGI_BIN:-$root/target/release/fellegi}"
out="$root/experiments/store-service/results"
mkdir -p "$out" "$work"
t() { /usr/bin/time -f '%e %M' -o "$work/$1.time" "${@:2}"; }
[ -f "$work/model/model.json" ] || t train "$bin" train --input "$people" \
  --settings "$root/experiments/scale/settings.toml" --out "$work/model" -q
rm -rf "$work/store" "$work/add"
t create "$bin" store create --model "$work/model/model.json" --input "$people" --out "$work/store" -q
# 10,000 new records: every 100th stored row under a new id.
python3 - "$people" "$work/add.csv" <<'PY'
import csv, sys
r = csv.reader(open(sys.argv[1])); w = csv.writer(open(sys.argv[2], "w", newline=""))
h = next(r); w.writerow(h); n = 0
for i, row in enumerate(r):
    if i % 100 == 0 and n < 10000:
        row[0] = "new-" + row[0]; w.writerow(row); n += 1
PY
head -n 2001 "$people" | tail -n 2000 > "$work/queries.body"
(head -n 1 "$people"; cat "$work/queries.body") > "$work/queries.csv"
t add "$bin" store add "$work/store" "$work/add.csv" -q | tee "$work/add.stdout"
"$bin" store verify "$work/store"
"$bin" serve "$work/store" --addr 127.0.0.1:0 --threads "${SERVE_THREADS:-2}" > "$work/serve.stdout" 2>/dev/null &
pid=$!
for _ in $(seq 1 600); do grep -q listening "$work/serve.stdout" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's#listening on http://##p' "$work/serve.stdout")
(cd "$root" && cargo bench -q --bench serve_load -- --addr "$addr" --queries "$work/queries.csv" \
  --requests "${REQUESTS:-20000}" --seconds 30 --clients "${CLIENTS:-4}") | tail -n 1 > "$work/load.json"
(cd "$root" && cargo bench -q --bench serve_load -- --addr "$addr" --queries "$work/queries.csv" \
  --requests 2000 --seconds 30 --clients 1) | tail -n 1 > "$work/load1.json"
kill -TERM "$pid"; wait "$pid" || true
python3 - "$work" "$out/latest.json" <<'PY'
import json, sys
w, out = sys.argv[1], sys.argv[2]
def tm(n):
    try: s, kb = open(f"{w}/{n}.time").read().split(); return {"seconds": float(s), "peak_rss_mb": int(kb) / 1024}
    except FileNotFoundError: return None
res = {"records": 1162717, "added": 10000, "train": tm("train"), "create": tm("create"), "add": tm("add"),
       "add_stdout": open(f"{w}/add.stdout").read().strip(),
       "match_load_4_clients": json.loads(open(f"{w}/load.json").read()),
       "match_load_1_client": json.loads(open(f"{w}/load1.json").read())}
json.dump(res, open(out, "w"), indent=2); print(json.dumps(res, indent=2))
PY
