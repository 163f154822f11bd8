#!/bin/bash
# One machine vs a Ballista scheduler with one and with two executors on loopback (feature
# `distributed`), whole `fellegi link` runs; checks that the outputs are byte-identical.
# usage (repository root): cargo build --features distributed && experiments/distributed/one-vs-two.sh FILE.csv
# FILE from ../shared/bench/gen_people.py, e.g. 70000 1 (116,307 records).
B=${FELLEGI_BIN:-target/debug/fellegi}
S=$(pwd)/experiments/scale/settings.toml
IN=$(realpath "${1:-/tmp/people116k.csv}")
B=$(realpath "$B"); cd /tmp
run_cluster() { n=$1; port=$((51000+n*10))
  $B engine scheduler --bind 127.0.0.1 --port $port --external-host 127.0.0.1 >/tmp/sched$n.log 2>&1 & sp=$!
  sleep 2; pids=""
  for i in $(seq 1 $n); do
    $B engine executor --scheduler 127.0.0.1:$port --bind 127.0.0.1 --external-host 127.0.0.1 --port $((port+2*i)) --grpc-port $((port+2*i+1)) --concurrent-tasks 1 >/tmp/exec$n-$i.log 2>&1 & pids="$pids $!"
  done
  sleep 3
  /usr/bin/time -f "client($n executors) %e s %M KB" $B link --input $IN --settings $S --min-probability 0.5 --out /tmp/scale-dist$n --engine ballista://127.0.0.1:$port --partitions 8 -q 2>&1 | grep -E "client|candidate pairs|seconds"
  for p in $pids; do echo "executor pid $p peak $(grep VmHWM /proc/$p/status)"; kill $p; done; kill $sp; wait 2>/dev/null
}
/usr/bin/time -f "local debug %e s %M KB" $B link --input $IN --settings $S --min-probability 0.5 --out /tmp/scale-local -q 2>&1 | grep -E "local|candidate pairs|seconds"
run_cluster 1
run_cluster 2
for f in pairs.csv clusters.csv model.json; do cmp /tmp/scale-local/$f /tmp/scale-dist1/$f && cmp /tmp/scale-local/$f /tmp/scale-dist2/$f && echo "$f identical"; done
