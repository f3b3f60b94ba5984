#!/usr/bin/env bash
# The benchmarks as a short report (CI runs it after the tests): small sizes, one round each, figures printed and
# written to bench/results/; nothing is asserted. The full runs are in bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ensure-engine.sh
source scripts/ensure-engine.sh
ensure_packages
trap stop_started_engine EXIT
ensure_engine
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null
ITERATIONS=10 node bench/mount-unmount.mjs
SLOTS=16 ROUNDS=1 node bench/fill.mjs
SLOTS=16 KILLS=10 node bench/replace.mjs
ROUNDS=1 node bench/resize.mjs
SLOTS=64 DURATION=60 node bench/steady.mjs
# 8 slots and one per core: the two cases with a time target (about 3 minutes on a loaded two-core machine).
SLOTS=8 IDLE_SECONDS=15 SETTLE_SECONDS=3 node bench/slot-cost.mjs
