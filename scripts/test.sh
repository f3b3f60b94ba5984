#!/usr/bin/env bash
# The tests, as the README gives them and CI runs them: on a fresh machine it installs what is missing, starts a
# Docker engine if none answers (and stops only that one at the end), installs the npm dependencies, builds the
# HTCondor test root once, then runs lint, typecheck and every test (unit, real engine, real HTCondor pool).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=ensure-engine.sh
source scripts/ensure-engine.sh
ensure_packages
trap stop_started_engine EXIT
ensure_engine

[ -d node_modules ] || npm ci --no-audit --no-fund
# The HTCondor root the pool tests run (cached per machine; about a minute the first time). The tests build it
# themselves too; building it here first keeps its progress out of the test output.
bash test/fixtures/condor-root.sh >/dev/null
npm run lint
npm run typecheck
npm test
