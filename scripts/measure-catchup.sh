#!/usr/bin/env bash
# Measures how long a node down for ~1,000 blocks takes to catch up, and its peak RSS.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/portledger-node}   # cargo build --release -p portledger-node
D=$(mktemp -d)
$BIN testnet --validators 4 --out $D/net --p2p-port 17100 --api-port 18100 >/dev/null
export PORTLEDGER_HEARTBEAT_MS=10 PORTLEDGER_LOG_LEVEL=warn
for i in 0 1 2; do $BIN start --home $D/net/node-$i 2>$D/n$i.log & done
h() { curl -s 127.0.0.1:$1/v1/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0; }
while [ "$(h 18100)" -lt 1000 ]; do sleep 1; done
T=$(h 18100); echo "network at height $T"
START=$(date +%s.%N)
$BIN start --home $D/net/node-3 2>$D/n3.log &
PID3=$!
sleep 0.2
while [ "$(h 18103)" -lt "$T" ]; do sleep 0.05; done
END=$(date +%s.%N)
echo "node 3 reached height $T in $(python3 -c "print(round($END-$START,2))") s (including process start)"
grep VmHWM /proc/$PID3/status
for i in 0 1 2; do P=$(pgrep -f "home $D/net/node-$i"); echo "node $i: $(grep VmHWM /proc/$P/status)"; done
kill -TERM $PID3; sleep 2
pkill -TERM -f "home $D/net/node-" ; sleep 1; rm -rf $D
