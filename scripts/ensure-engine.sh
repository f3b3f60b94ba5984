# Sourced by .ci/run and scripts/demo.sh: installs what a fresh machine lacks and starts a Docker engine if
# none answers. Sets STARTED_DOCKERD_PID when it started one, so the caller stops only what it started.
# shellcheck shell=bash

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  # The mounter reaches the containerd image store's layers with containerd's client.
  command -v ctr >/dev/null 2>&1 || missing+=(containerd)
  # The stand-in CernVM roots need a static busybox (the dynamic one needs libraries the roots lack).
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  # The tests serve their stand-in repositories from FUSE, as CVMFS is: squashfuse over mksquashfs images.
  command -v squashfuse >/dev/null 2>&1 || missing+=(squashfuse)
  command -v mksquashfs >/dev/null 2>&1 || missing+=(squashfs-tools)
  # The HTCondor test root (test/fixtures/condor-root.sh) is a debootstrap of Debian 13.
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  # The fill benchmark's peer baseline (bench/fill.mjs): Debian's docker-compose 1.29.
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  # The .deb (scripts/build-deb.sh) is checked with Debian's lintian.
  command -v lintian >/dev/null 2>&1 || missing+=(lintian)
  # The deploy/ tests check the Prometheus rules, scrape config and dashboard expressions with promtool.
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} …" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

engine_answers() {
  docker info >/dev/null 2>&1
}

STARTED_DOCKERD_PID=""

ensure_engine() {
  engine_answers && return 0
  local log=${DOCKERD_LOG:-/tmp/docker-cernvm-dockerd.log}
  echo "starting dockerd (log: $log) …" >&2
  dockerd >"$log" 2>&1 &
  STARTED_DOCKERD_PID=$!
  for _ in $(seq 1 120); do
    engine_answers && return 0
    kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || { tail -n 20 "$log" >&2; return 1; }
    sleep 0.5
  done
  echo "dockerd did not answer within 60 s; see $log" >&2
  return 1
}

stop_started_engine() {
  [ -n "$STARTED_DOCKERD_PID" ] || return 0
  kill "$STARTED_DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null; then
    kill -9 "$STARTED_DOCKERD_PID" 2>/dev/null || true
    sleep 1
  fi
  # A stopped dockerd leaves its network namespace mounted; the engine started here was the only user of it.
  while mountpoint -q /run/docker/netns/default; do umount /run/docker/netns/default || break; done
  STARTED_DOCKERD_PID=""
}
