#!/usr/bin/env bash
# A second Docker engine for the tests: Debian 13's docker.io (26.1) with the containerd image store, run chrooted
# in a debootstrap root beside the host's own engine, which it never touches.
#
#   scripts/docker26.sh start   builds the root once (cached), starts dockerd in it, waits for its socket
#   scripts/docker26.sh env     prints DOCKER_HOST=… and DOCKER_CERNVM_ENGINE_ROOT=… for the running engine
#   scripts/docker26.sh status  exits 0 when the engine this script started runs
#   scripts/docker26.sh root    builds the root if needed and prints its path
#   scripts/docker26.sh stop    stops the dockerd this script started (by its recorded pid), unmounts only
#                               the binds this script made and deletes the engine's bridge
#
# The root lives in /var/cache/docker-cernvm-test/<version> (built in a temporary directory and renamed into place
# when complete; flock serialises builds, as in test/fixtures/condor-root.sh). The engine's state (/var/lib/docker,
# containerd's snapshots) lives inside that root, so images built there stay for the next start. runc cannot
# pivot_root inside a chroot: DOCKER_RAMDISK=true makes it chroot instead. A consequence to know: `docker exec`
# on this engine lands in the host's root directory, not the container's (setns into the container's mount
# namespace, whose root was never pivoted); the HTCondor pool suites exec into containers and stay on the main
# engine, and test/support/engine.ts runs a test's command in a slot with nsenter into its mount namespace and root
# instead. The engine gets a bridge of its own ($BRIDGE, made before it starts and deleted after it stops, no NAT):
# with --bridge=none a dockerd deletes the host's docker0 (docs/testing.md). Containers use the host network, and a
# build with a RUN step that reaches out needs --network host. The host's /tmp is shared into the root, so bind mounts of paths under /tmp mean the same
# directory to the engine as to the tests. The host's / is private here, so a mount made under /tmp after the start
# would not reach the root: $SHARED_DIR is made a shared mount first, and its copy in the root follows it (tests
# that mount under a slot's bound tree later keep their directories there: `env` prints DOCKER_CERNVM_SHARED_DIR).
set -euo pipefail

VERSION=trixie-docker26-v1
CACHE_DIR=${DOCKER_CERNVM_FIXTURE_CACHE:-/var/cache/docker-cernvm-test}
# debootstrap picks its own default mirror unless DEBIAN_MIRROR names one.
MIRROR=(${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"})
ROOT="$CACHE_DIR/$VERSION"
RUN_DIR=${DOCKER26_RUN_DIR:-/run/docker-cernvm-docker26}
PID_FILE="$RUN_DIR/dockerd.pid"
BINDS_FILE="$RUN_DIR/binds"
LOG=${DOCKER26_LOG:-/tmp/docker-cernvm-docker26.log}
SHARED_DIR=/tmp/docker-cernvm-shared
# A name and a /24 of this engine only; the private engine of test/support/private-engine.ts has its own.
BRIDGE=dcvm-docker26
BRIDGE_ADDRESS=10.213.26.1/24

log() { printf '%s\n' "$*" >&2; }
# shellcheck source=daemon-process.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon-process.sh"

ready() { [[ -x "$ROOT/usr/sbin/dockerd" && -f "$ROOT/etc/docker/daemon.json" ]]; }

build_root() {
  ready && return 0
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  }
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/.build-$VERSION.lock"
  flock 8
  # Another process may have finished the build while this one waited for the lock.
  if ready; then exec 8>&-; return 0; fi
  local build="$CACHE_DIR/.build-$VERSION"
  rm -rf "$build"
  local started
  started=$(date +%s)
  log "building $ROOT (debootstrap minbase trixie, then docker.io; about 2 minutes)"
  debootstrap --variant=minbase trixie "$build" "${MIRROR[@]}" >&2
  cp /etc/resolv.conf "$build/etc/resolv.conf"
  mount -t proc proc "$build/proc"
  # Whatever happens, the build's /proc goes again.
  if ! chroot "$build" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io docker-cli containerd runc iptables ca-certificates >&2; then
    umount "$build/proc"
    return 1
  fi
  umount "$build/proc"
  chroot "$build" apt-get clean >&2
  rm -rf "$build/var/lib/apt/lists/"*
  rm -f "$build/etc/resolv.conf"
  mkdir -p "$build/etc/docker"
  printf '%s\n' '{"features": {"containerd-snapshotter": true}}' >"$build/etc/docker/daemon.json"
  mv "$build" "$ROOT"
  log "built $ROOT in $(($(date +%s) - started)) s ($(du -sh "$ROOT" | cut -f1))"
  exec 8>&-
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  # The pid must still be a dockerd chrooted in our root, not a recycled pid.
  [[ -n "$pid" && -d "/proc/$pid" && "$(readlink "/proc/$pid/root" 2>/dev/null)" == "$ROOT" ]] || return 1
  printf '%s\n' "$pid"
}

socket() { printf '%s\n' "$ROOT/run/docker.sock"; }

answers() { DOCKER_HOST="unix://$(socket)" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Mounts one thing and records its mount point (newest last), so stop undoes exactly these and nothing else.
bind() {
  mount "$@"
  printf '%s\n' "${@: -1}" >>"$BINDS_FILE"
}

unbind_recorded() {
  [[ -f "$BINDS_FILE" ]] || return 0
  local target kept=()
  # Newest first: the shared directory and the root itself were bound first and go last.
  while read -r target; do
    [[ -n "$target" ]] || continue
    mountpoint -q "$target" || continue
    if [[ "$target" == "$ROOT" ]]; then
      # Not recursive: anything still mounted under the root is someone else's, and is named instead.
      umount "$target" || {
        log "could not unmount $target; still mounted under it: $(findmnt -rn -o TARGET -R "$target" | tail -n +2 | tr '\n' ' ')"
        kept+=("$target")
      }
    else
      umount -R "$target" || { log "could not unmount $target"; kept+=("$target"); }
    fi
  done < <(tac "$BINDS_FILE")
  # What could not be unmounted stays recorded (oldest first again), for the next start to take back.
  printf '%s\n' "${kept[@]}" | tac >"$BINDS_FILE"
}

# What a stopped (or killed) dockerd leaves mounted in our root: its own bind of its root directory and its network
# namespace. Nothing else under the root is touched. Given -R (at start), what a killed run left mounted under the
# engine's data root goes too; at stop a mount left there is a test's leak, for the host-state check to name.
unmount_engine_leftovers() {
  local leftover
  for leftover in "$ROOT/run/docker/netns/default" "$ROOT/var/lib/docker"; do
    while mountpoint -q "$leftover"; do umount "$@" "$leftover" || break; done
  done
}

# The engine's own bridge, made anew: a killed run may have left it.
bridge_up() {
  bridge_down
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDRESS" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

bridge_down() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
}

start() {
  build_root
  mkdir -p "$RUN_DIR"
  exec 7>"$RUN_DIR/lock"
  flock 7
  if pid=$(running_pid); then
    log "docker 26 already runs (pid $pid)"
    return 0
  fi
  # A run that died without stop may have left its mounts and its bridge: take back only what it made.
  unmount_engine_leftovers -R
  unbind_recorded
  # Its network store is made anew too: a killed run can leave the default network with endpoints, which the next
  # dockerd can neither delete nor keep ("networks have same bridge name"). Its containers all use the host network.
  rm -rf "$ROOT/var/lib/docker/network"
  bridge_up
  : >"$BINDS_FILE"
  # A shared mount under /tmp, before /tmp is bound into the root: mounts made under it later show in the root too.
  mkdir -p "$SHARED_DIR"
  if ! mountpoint -q "$SHARED_DIR"; then bind --bind "$SHARED_DIR" "$SHARED_DIR"; fi
  mount --make-shared "$SHARED_DIR"
  # The root is made a mount point of its own so that the binds below stay private to it.
  bind --bind "$ROOT" "$ROOT"
  mount --make-private "$ROOT"
  bind --rbind /proc "$ROOT/proc"
  bind --rbind /sys "$ROOT/sys"
  bind --rbind /dev "$ROOT/dev"
  # Bind sources the tests give the engine (a slot's /pilot directory, the token) are host paths under /tmp: the
  # engine must see them at the same path, and see mounts made there later (hence rslave, not private).
  find "$ROOT/tmp" -mindepth 1 -delete
  bind --rbind /tmp "$ROOT/tmp"
  local dir
  # Unmounts inside the root must never travel back to the host's /proc, /sys, /dev or /tmp.
  for dir in proc sys dev tmp; do mount --make-rslave "$ROOT/$dir"; done
  rm -f "$ROOT/run/docker.sock" "$ROOT/run/docker.pid"
  local started
  started=$(date +%s%N)
  log "starting docker 26 in $ROOT (log: $LOG)"
  setsid chroot "$ROOT" /usr/bin/env DOCKER_RAMDISK=true PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    dockerd --bridge="$BRIDGE" --iptables=false --ip-masq=false --ip6tables=false >"$LOG" 2>&1 </dev/null &
  local pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  await_daemon "docker 26" "$pid" 60 "$started" "$(socket)" "$LOG" && return 0
  stop
  return 1
}

stop() {
  mkdir -p "$RUN_DIR"
  local pid
  if pid=$(running_pid); then
    end_daemon "docker 26" "$pid" 30
  fi
  rm -f "$PID_FILE"
  unmount_engine_leftovers
  unbind_recorded
  bridge_down
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    printf 'DOCKER_HOST=unix://%s\n' "$(socket)"
    printf 'DOCKER_CERNVM_ENGINE_ROOT=%s\n' "$ROOT"
    printf 'DOCKER_CERNVM_SHARED_DIR=%s\n' "$SHARED_DIR"
    ;;
  root) build_root && printf '%s\n' "$ROOT" ;;
  status) running_pid >/dev/null ;;
  *)
    log "usage: $0 start|stop|env|root|status"
    exit 2
    ;;
esac
