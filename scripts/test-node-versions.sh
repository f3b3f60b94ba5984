#!/usr/bin/env bash
# The unit tests and the factory's real-engine suite on the Node versions sites run (22 and 24 unless given as
# arguments), beside the machine's own. Each Node comes from the npm registry's `node` package, installed once per
# machine into /var/cache/docker-cernvm-test/node<major> (delete that directory to take a newer release). The build
# stays the machine's: tsc emits plain JS, and the built commands are run on each version before its tests.
# `--unit` leaves out the real-engine suite (it needs root and a Docker engine). Prints what each version took.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${DOCKER_CERNVM_NODE_CACHE:-/var/cache/docker-cernvm-test}
real_engine=1
majors=()
for arg in "$@"; do
  case $arg in
    --unit) real_engine="" ;;
    [0-9]*) majors+=("$arg") ;;
    *) echo "usage: $0 [--unit] [MAJOR…]" >&2; exit 2 ;;
  esac
done
((${#majors[@]})) || majors=(22 24)

# Prints the path of Node <major>'s binary, installing it into the cache the first time.
node_binary() {
  local dir=$CACHE/node$1
  local bin=$dir/node_modules/node/bin/node
  if ! "$bin" --version >/dev/null 2>&1; then
    echo "installing node@$1 into $dir …" >&2
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$1" >&2
  fi
  local got
  # The package's preinstall script fetches the binary: an npm that skips install scripts leaves none.
  got=$("$bin" -p 'process.versions.node.split(".")[0]') || {
    echo "no working $bin after installing node@$1 (were install scripts skipped?)" >&2
    return 1
  }
  [ "$got" = "$1" ] || { echo "$bin is Node $got, not $1" >&2; return 1; }
  echo "$bin"
}

run_on() {
  local major=$1 bin version started unit
  bin=$(node_binary "$major")
  version=$("$bin" --version)
  echo "Node $version ($bin)" >&2
  # Anything the tests start as `node` is this one too (they start the factory with process.execPath already).
  PATH="$(dirname "$bin"):$PATH"
  export NODE_OPTIONS=--experimental-vm-modules DOCKER_CERNVM_EXPECT_NODE=$version

  for cli in packages/mounter/dist/cli/bin.js packages/pilot/dist/cli/bin.js packages/factory/dist/cli/bin.js; do
    "$bin" "$cli" --help >/dev/null || { echo "$cli --help failed on Node $version" >&2; return 1; }
  done

  started=$(date +%s)
  # packages/cli-kit/src/node-runtime.test.ts fails if a jest worker runs on another Node than $version.
  "$bin" node_modules/jest/bin/jest.js --selectProjects cli-kit mounter pilot factory
  unit=$(($(date +%s) - started))
  if [ -z "$real_engine" ]; then
    echo "Node $version: unit tests took $unit s" >&2
    return 0
  fi
  started=$(date +%s)
  "$bin" node_modules/jest/bin/jest.js --runInBand test/factory --selectProjects integration
  echo "Node $version: unit tests took $unit s, the factory's real-engine tests $(($(date +%s) - started)) s" >&2
}

# One subshell per version: its PATH and NODE_OPTIONS stay in it.
for major in "${majors[@]}"; do
  (run_on "$major")
done
