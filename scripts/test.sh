#!/usr/bin/env bash
# The tests, as the README gives them and CI runs them: on a fresh machine it installs what is missing, starts a
# Docker engine if none answers (and stops only that one at the end), installs the npm dependencies, builds the
# HTCondor test root and a Debian 13 root with Debian's nodejs once, the npm tarballs and the .deb (checked with
# lintian; test/install installs both on that root), then runs lint, typecheck and every test (unit, real engine,
# real HTCondor pool), then the unit tests and the factory's real-engine tests on Node 22 and 24
# (scripts/test-node-versions.sh). Then
# it runs the mounter's and the factory's real-engine tests again on a second engine, Docker 26 with the containerd
# image store (scripts/docker26.sh: a cached chroot, started here and stopped again), and prints what that took;
# then the factory's real-engine tests on podman (scripts/podman.sh), then a short benchmark report
# (scripts/bench-report.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=ensure-engine.sh
source scripts/ensure-engine.sh
ensure_packages
STARTED_DOCKER26=""
STARTED_PODMAN=""
stop_engines() {
  [ -z "$STARTED_PODMAN" ] || bash scripts/podman.sh stop
  [ -z "$STARTED_DOCKER26" ] || bash scripts/docker26.sh stop
  stop_started_engine
}
trap stop_engines EXIT
ensure_engine
# The engine started here is Debian 12's dockerd, on overlay2: the mounter's real test checks it got that store, as it
# checks the containerd store on the second engine below. An engine that was already running may use either.
if [ -n "$STARTED_DOCKERD_PID" ]; then export DOCKER_CERNVM_EXPECT_STORE=overlay2; fi

[ -d node_modules ] || npm ci --no-audit --no-fund
# The HTCondor root the pool tests run (cached per machine; about a minute the first time). The tests build it
# themselves too; building it here first keeps its progress out of the test output.
bash test/fixtures/condor-root.sh >/dev/null
# The npm tarballs and the .deb, built once into dist/ and checked with lintian, and the Debian 13 root with Debian's
# nodejs that test/install installs them on (cached like the HTCondor root).
started=$(date +%s)
bash scripts/build-deb.sh dist >/dev/null
lintian --fail-on error dist/docker-cernvm_*_all.deb
export DOCKER_CERNVM_DIST=$PWD/dist
echo "npm tarballs and .deb: built and checked in $(($(date +%s) - started)) s" >&2
bash test/fixtures/debian-node-root.sh >/dev/null
npm run lint
npm run typecheck
npm test

# The Node versions sites run, beside the machine's: the unit tests and the factory's real-engine suite on Node 22
# and 24 (scripts/test-node-versions.sh: each from the npm registry's `node` package, cached per machine).
started=$(date +%s)
bash scripts/test-node-versions.sh 22 24
echo "Node 22 and 24: unit and factory real-engine tests took $(($(date +%s) - started)) s" >&2

# The second engine: Debian 13's Docker 26.1 (API 1.45) with the containerd image store, beside the first.
# The HTCondor pool suites (test/pilot, test/e2e) stay on the first engine: they docker exec into containers, which
# on this chrooted engine would land in the host's root (see scripts/docker26.sh).
started=$(date +%s)
if ! bash scripts/docker26.sh status; then
  STARTED_DOCKER26=1
  bash scripts/docker26.sh start
fi
(
  eval "$(bash scripts/docker26.sh env)"
  export DOCKER_HOST DOCKER_CERNVM_ENGINE_ROOT DOCKER_CERNVM_SHARED_DIR DOCKER_CERNVM_EXPECT_STORE=containerd
  # test/factory/mounts looks inside slots with nsenter here (support/engine.ts) and keeps the trees it mounts into
  # later under the shared directory the engine follows.
  NODE_OPTIONS=--experimental-vm-modules npx jest --runInBand test/mounter test/factory --selectProjects integration
)
if [ -n "$STARTED_DOCKER26" ]; then
  bash scripts/docker26.sh stop
  STARTED_DOCKER26=""
fi
echo "Docker 26 (containerd image store): mounter and factory real-engine tests took $(($(date +%s) - started)) s" >&2

# Podman, the engine of EL9 sites: Debian 12's podman 4.3, its API service on a socket of its own
# (scripts/podman.sh), and the factory's suites that pass there: slots, adoption, backoff, limits, drain, scale,
# metrics, reload, hardening, mounts and scratch, slots whose root is a CernVM root (rootfs), and the HTCondor pool
# end to end with podman's slots (e2e/pool-podman). The placeholder image test (Docker's only) is not run here.
started=$(date +%s)
if ! bash scripts/podman.sh status; then
  STARTED_PODMAN=1
  bash scripts/podman.sh start
fi
(
  eval "$(bash scripts/podman.sh env)"
  # DOCKER_CERNVM_EXPECT_PODMAN: test/factory/rootfs (slots on a CernVM root, podman's only) fails instead of skipping.
  # So does test/e2e/pool-podman (the pool with podman's slots; its central manager on the host's Docker).
  export DOCKER_HOST DOCKER_CERNVM_EXPECT_PODMAN=1
  NODE_OPTIONS=--experimental-vm-modules npx jest --runInBand test/factory/factory.real.test.ts \
    test/factory/operations.real.test.ts test/factory/mounts.real.test.ts test/factory/rootfs.real.test.ts \
    test/e2e/pool-podman.real.test.ts \
    --selectProjects integration
)
if [ -n "$STARTED_PODMAN" ]; then
  bash scripts/podman.sh stop
  STARTED_PODMAN=""
fi
echo "Podman 4.3: factory real-engine and pool tests took $(($(date +%s) - started)) s" >&2
# Second engines have come and gone (the fault tests' private engine, Docker 26): the host engine's default bridge
# must still serve a container.
NODE_OPTIONS=--experimental-vm-modules npx jest --runInBand test/host/default-bridge --selectProjects integration

# Last, the benchmarks as a short report (figures printed, never asserted): one round of each, small sizes.
bash scripts/bench-report.sh
