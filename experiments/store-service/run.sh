#!/usr/bin/env bash
# Speed of the incremental store and the service (issue 16, part 6) on the 1,162,717-record
# people file: hold out 10,000 records (every 100th row from row 50), train the scale model on
# the rest, create the store from the rest (timed, peak RSS), add the 10,000 held-out records
# (timed, peak RSS; most are duplicates of stored entities, so they join or merge clusters),
# run the batch `fellegi link` of the whole file for its peak RSS side by side, then serve the
# store and run the POST /match load test (benches/serve_load.rs: p50/p99, throughput,
# errors). Loopback only, bounded in count and time. Writes
# experiments/store-service/results/latest.json. Never part of CI.
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
python3 - "$people" "$work/base.csv" "$work/add.csv" <<'PY'
import csv, sys
r = csv.reader(open(sys.argv[1])); h = next(r)
a = csv.writer(open(sys.argv[2], "w", newline="")); b = csv.writer(open(sys.argv[3], "w", newline=""))
a.writerow(h); b.writerow(h); n = 0
for i, row in enumerate(r):
    if i % 100 == 50 and n < 10000: b.writerow(row); n += 1
    else: a.writerow(row)
PY
[ -f "$work/model/model.json" ] || t train "$bin" train --input "$work/base.csv" \
  --settings "$root/experiments/scale/settings.toml" --out "$work/model" -q
rm -rf "$work/store" "$work/link"
t create "$bin" store create --model "$work/model/model.json" --input "$work/base.csv" --out "$work/store" -q
# The add is timed on a settled disk (the create's ~0.5 GB of writes flushed first), as a
# store is when records arrive later; otherwise its fsyncs wait behind the create's write-back.
sync
rm -rf "$work/store_svc"; cp -r "$work/store" "$work/store_svc"; sync
t add "$bin" store add "$work/store" "$work/add.csv" -q | tee "$work/add.stdout"
t link "$bin" link --input "$people" --settings "$root/experiments/scale/settings.toml" \
  --min-probability 0.5 --threshold 0.5 --out "$work/link" -q > /dev/null
head -n 2001 "$people" | tail -n 2000 > "$work/queries.body"
(head -n 1 "$people"; cat "$work/queries.body") > "$work/queries.csv"
"$bin" store verify "$work/store"
"$bin" serve "$work/store" --addr 127.0.0.1:0 --threads "${SERVE_THREADS:-2}" > "$work/serve.stdout" 2>/dev/null &
pid=$!
for _ in $(seq 1 600); do grep -q listening "$work/serve.stdout" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's#listening on http://##p' "$work/serve.stdout")
(cd "$root" && cargo bench -q --bench serve_load -- --addr "$addr" --queries "$work/queries.csv" \
  --requests "${REQUESTS:-20000}" --seconds 30 --clients "${CLIENTS:-4}" --server-pid "$pid") | tail -n 1 > "$work/load.json"
(cd "$root" && cargo bench -q --bench serve_load -- --addr "$addr" --queries "$work/queries.csv" \
  --requests 2000 --seconds 30 --clients 1 --server-pid "$pid") | tail -n 1 > "$work/load1.json"
kill -TERM "$pid"; wait "$pid" || true
# POST /records: the same 10,000 records in one request into a service over a copy of the
# store as created (timed by curl; the server's peak RSS from /proc).
python3 - "$work/add.csv" "$work/insert.json" <<'PY'
import csv, json, sys
# entity_id is the settings' truth column: a record sent to the service carries only features.
rows = [{k: v for k, v in r.items() if k != "entity_id"} for r in csv.DictReader(open(sys.argv[1]))]
json.dump({"records": rows}, open(sys.argv[2], "w"))
PY
"$bin" serve "$work/store_svc" --addr 127.0.0.1:0 --threads "${SERVE_THREADS:-2}" > "$work/serve.stdout" 2>/dev/null &
pid=$!
for _ in $(seq 1 600); do grep -q listening "$work/serve.stdout" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's#listening on http://##p' "$work/serve.stdout")
curl -s -o "$work/insert.out" -w '%{http_code} %{time_total}' -H 'content-type: application/json' \
  --data-binary @"$work/insert.json" "http://$addr/records" > "$work/insert.time"
grep VmHWM "/proc/$pid/status" | awk '{print $2}' > "$work/insert.rss"
kill -TERM "$pid"; wait "$pid" || true
python3 - "$work" "$out/latest.json" <<'PY'
import json, sys
w, out = sys.argv[1], sys.argv[2]
def tm(n):
    try: s, kb = open(f"{w}/{n}.time").read().split(); return {"seconds": float(s), "peak_rss_mb": int(kb) / 1024}
    except FileNotFoundError: return None
res = {"records": 1162717, "stored": 1152717, "added": 10000, "train": tm("train"), "create": tm("create"),
       "add": tm("add"), "batch_link": tm("link"), "load_average": open("/proc/loadavg").read().split()[:3],
       "add_stdout": open(f"{w}/add.stdout").read().strip(),
       "post_records_10k": dict(zip(["http_status", "seconds"], open(f"{w}/insert.time").read().split()),
                                server_peak_rss_mb=int(open(f"{w}/insert.rss").read()) / 1024,
                                pairs=json.load(open(f"{w}/insert.out")).get("pairs")),
       "match_load_4_clients": json.loads(open(f"{w}/load.json").read()),
       "match_load_1_client": json.loads(open(f"{w}/load1.json").read())}
json.dump(res, open(out, "w"), indent=2); print(json.dumps(res, indent=2))
PY
