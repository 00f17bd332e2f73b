#!/usr/bin/env bash
# Reruns, RUNS times each (default 5), the figures of BENCHMARKS.md's summary table (all but
# the raid's, which `guildhall-loadtest raid` gives), the small rooms and the bare writer's
# floor, and prints the medians. The other sections of BENCHMARKS.md give their own commands.
# Server pinned to core 0, generator to core 1; all traffic on loopback; bounded in time.
# Needs: a release build (cargo build --release), Redis on 127.0.0.1:6379 for `cluster`,
# Redis and PostgreSQL (127.0.0.1:5432, database test) for `spectate`,
# and `npm ci` in loadtest/peers/socketio for the Socket.IO figures.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
OUT=${OUT:-target/bench}
LT=./target/release/guildhall-loadtest
mkdir -p "$OUT"
ulimit -n 20000

run() { # name, then loadtest arguments
  local name=$1; shift
  for i in $(seq "$RUNS"); do
    "$LT" --quiet --json "$OUT/$name-$i.json" "$@" > "$OUT/$name-$i.txt" 2>&1 || echo "run $name-$i failed (see $OUT/$name-$i.txt)"
  done
}

run fanout-full      --duration 5 fanout --subscribers 1000 --rate 1000
run fanout-half      --duration 5 fanout --subscribers 1000 --rate 500
run sio-fanout       --target socketio --duration 5 fanout --subscribers 1000 --rate 80
run sweep            --duration 3 fanout --subscribers 1000 --sweep --sweep-start 250 --sweep-factor 1.4
run sio-sweep        --target socketio --duration 3 fanout --subscribers 1000 --sweep --sweep-start 25 --sweep-factor 1.4
run idle             --duration 5 idle --conns 19000
run sio-idle         --target socketio --duration 5 idle --conns 19000
run connect          connect --conns 20000
run rooms            --duration 5 rooms --rooms 200 --members 50 --rate 2
run cluster          --duration 5 cluster --nodes 3 --subscribers 3000 --rate 167
run bare-half        --duration 5 bare --subscribers 1000 --rate 500
run bare-rooms       --duration 5 bare --subscribers 1000 --rate 20
run bare-cluster     --duration 5 bare --subscribers 3000 --rate 167
run bare-cluster-b10 --duration 5 bare --subscribers 3000 --rate 167 --batch-us 10000
run bare-cluster-b15 --duration 5 bare --subscribers 3000 --rate 167 --batch-us 15000
run bare-cluster-b20 --duration 5 bare --subscribers 3000 --rate 167 --batch-us 20000
run spectate         --duration 20 spectate --nodes 2 --spectators-per-node 19000 --move-every-ms 100
run spectate-light   --duration 20 spectate --nodes 2 --spectators-per-node 19000 --move-every-ms 500
run spectate-delay   --duration 20 spectate --nodes 2 --spectators-per-node 19000 --move-every-ms 500 --delay-s 5
run bare-spectate    --duration 10 bare --subscribers 9500 --rate 2 --frame 150
run bare-spectate-10 --duration 10 bare --subscribers 9500 --rate 10 --frame 150

python3 loadtest/medians.py "$OUT"
