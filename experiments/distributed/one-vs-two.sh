#!/bin/bash
# One machine vs a Ballista scheduler with one and with two executors on loopback (feature
# `distributed`), whole `fellegi link` runs with per-phase timings; checks that the outputs
# are byte-identical and prints each process's wall time and peak memory.
#
# usage (repository root):
#   cargo build --release --features distributed   # or set FELLEGI_BIN
#   experiments/distributed/one-vs-two.sh FILE.csv [SETTINGS] [RUNS]
# FILE: ../shared/bench/gen_people.py 700000 2 (1,162,717 records, settings
# experiments/scale/settings.toml, the default) or `fellegi generate --entities 11800000`
# (20,054,188 records, settings experiments/distributed/settings_population.toml).
# RUNS: which runs, any of "local 1 2" (default all three).
set -u
B=$(realpath "${FELLEGI_BIN:-target/distributed/release/fellegi}")
IN=$(realpath "${1:?usage: one-vs-two.sh FILE.csv [SETTINGS] [RUNS]}")
S=$(realpath "${2:-experiments/scale/settings.toml}")
RUNS=${3:-local 1 2}
MINP=${MINP:-0.5}
PARTS=${PARTS:-8}
W=${WORK:-/tmp/fellegi-dist}
mkdir -p "$W"; cd "$W"
peak() { awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$1/status 2>/dev/null; }
run_cluster() { n=$1; port=$((52000+n*100))
  "$B" engine scheduler --bind 127.0.0.1 --port $port --external-host 127.0.0.1 >"$W/sched$n.log" 2>&1 & sp=$!
  sleep 2; pids=""
  for i in $(seq 1 "$n"); do
    "$B" engine executor --scheduler 127.0.0.1:$port --bind 127.0.0.1 --external-host 127.0.0.1 \
      --port $((port+10*i)) --grpc-port $((port+10*i+1)) --concurrent-tasks 1 >"$W/exec$n-$i.log" 2>&1 & pids="$pids $!"
  done
  sleep 3
  FELLEGI_TIMING=1 /usr/bin/time -f "client ($n executors): %e s wall, peak %M KB" "$B" link --input "$IN" --settings "$S" \
    --min-probability "$MINP" --out "$W/dist$n" --engine ballista://127.0.0.1:$port --partitions "$PARTS" -q 2>&1 \
    | grep -E "client|candidate|timing|distributed|train|load" | grep -v "^$"
  for p in $pids; do echo "executor $p: peak $(peak "$p")"; kill "$p"; done
  echo "scheduler: peak $(peak $sp)"; kill $sp; wait 2>/dev/null
}
for r in $RUNS; do
  case $r in
    local) FELLEGI_TIMING=1 /usr/bin/time -f "one machine: %e s wall, peak %M KB" "$B" link --input "$IN" --settings "$S" \
             --min-probability "$MINP" --out "$W/local" -q 2>&1 | grep -E "machine|candidate|timing|load|train" ;;
    *) run_cluster "$r" ;;
  esac
done
for r in $RUNS; do
  [ "$r" = local ] && continue
  [ -d "$W/local" ] || break
  for f in pairs.csv clusters.csv model.json; do
    cmp -s "$W/local/$f" "$W/dist$r/$f" && echo "$f: $r executor(s) identical to one machine" || echo "$f: $r executor(s) DIFFERS"
  done
done
