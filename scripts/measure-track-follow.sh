#!/usr/bin/env bash
# Measures the median time, over 20 tracking events, from submitting an event through node 0 of
# an in-process 4-node network to `portledger track follow` on node 1 printing it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p portledger-client --test import_flow -- --ignored --nocapture measure_track_follow_latency 2>&1 |
  grep -E "track follow latency|test result"
