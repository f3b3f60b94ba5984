#!/usr/bin/env bash
# Podman for the tests: Debian 12's own podman (4.3), its API service on a socket of its own beside the host's
# Docker engine, which it never touches.
#
#   scripts/podman.sh start   installs podman if missing, starts `podman system service` on $SOCKET, waits for it
#   scripts/podman.sh env     prints DOCKER_HOST=… for the running service
#   scripts/podman.sh status  exits 0 when the service this script started runs
#   scripts/podman.sh stop    stops the service this script started (by its recorded pid)
#
# The service serves the Docker-compatible API and podman's own (libpod); the factory tells them apart by
# `GET /version`. Containers run under conmon, not under the service: stopping the service leaves them running, and
# the suites remove their own. Podman's storage (/var/lib/containers) and Docker's are apart. The service reads a
# containers.conf of its own ($CONF) and no other: the factory sends explicit rlimits at or under the host's hard
# limits, which podman needs here, so the file sets only how long an exec session's conmon outlives it (see start).
set -euo pipefail

RUN_DIR=${PODMAN_RUN_DIR:-/run/docker-cernvm-podman}
SOCKET="$RUN_DIR/podman.sock"
PID_FILE="$RUN_DIR/service.pid"
LOG=${PODMAN_LOG:-/tmp/docker-cernvm-podman.log}
# Podman bind-mounts its layer store onto itself and leaves that mount when it ends; stop takes it back only when
# start found it absent (recorded in $MADE_FILE), so the host's mount table ends as it began.
STORE=/var/lib/containers/storage/overlay
MADE_FILE="$RUN_DIR/store-mount-made"
CONF="$RUN_DIR/containers.conf"

log() { printf '%s\n' "$*" >&2; }
# shellcheck source=daemon-process.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon-process.sh"

# catatonit is podman's init (a slot's Init: true); Debian only recommends it.
install_podman() {
  command -v podman >/dev/null && [[ -x /usr/libexec/podman/catatonit ]] && return 0
  log "installing podman and catatonit"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman catatonit >/dev/null
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  # The pid must still be a podman serving our socket, not a recycled pid.
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "system service .*unix://$SOCKET" || return 1
  printf '%s\n' "$pid"
}

# How many mounts the store has: its own bind and each mounted container layer under it.
store_mounts() { findmnt -rn -R -o TARGET "$STORE" | wc -l; }
# How many processes of that name run, zombies left aside (a conmon's parent here may never reap it).
live_processes() { ps -C "$1" -o stat= | grep -vc '^Z' || true; }

answers() { curl -fsS --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; }

start() {
  install_podman
  mkdir -p "$RUN_DIR"
  exec 7>"$RUN_DIR/lock"
  flock 7
  if pid=$(running_pid); then
    log "podman service already runs (pid $pid)"
    return 0
  fi
  rm -f "$SOCKET"
  # The tests read an exec's exit code at once; podman's default keeps each exec's conmon 300 s after it, which then
  # mounts the store again long after stop has unmounted it.
  printf '[engine]\nexit_command_delay = 5\n' >"$CONF"
  if ! mountpoint -q "$STORE"; then : >"$MADE_FILE"; fi
  local started
  started=$(date +%s%N)
  log "starting podman $(podman --version | awk '{print $3}') service at $SOCKET (log: $LOG)"
  # --time=0: the service never ends on its own between the suites' requests.
  CONTAINERS_CONF=$CONF setsid podman system service --time=0 "unix://$SOCKET" >"$LOG" 2>&1 </dev/null &
  local pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  await_daemon "podman service" "$pid" 30 "$started" "$SOCKET" "$LOG" && return 0
  stop
  return 1
}

stop() {
  mkdir -p "$RUN_DIR"
  local pid
  if pid=$(running_pid); then
    end_daemon "podman service" "$pid" 20
  fi
  rm -f "$PID_FILE" "$SOCKET"
  # A container's exit is cleaned up by a podman process of its own (`podman container cleanup`, started by its
  # conmon), which mounts the store again if it is gone: wait until no conmon or podman has run for a second and only
  # the store's own bind is left (read-only look-ups, nothing is signalled).
  local quiet=0
  for _ in $(seq 1 60); do
    if [[ $(live_processes conmon) -eq 0 && $(live_processes podman) -eq 0 && $(store_mounts) -le 1 ]]; then
      quiet=$((quiet + 1))
      [[ $quiet -ge 2 ]] && break
    else
      quiet=0
    fi
    sleep 0.5
  done
  if [[ -f "$MADE_FILE" ]] && mountpoint -q "$STORE"; then
    if [[ $(store_mounts) -eq 1 ]]; then
      umount "$STORE" || log "could not unmount $STORE"
    else
      log "left $STORE mounted: a container's layers are still mounted under it"
      findmnt -rn -R -o TARGET "$STORE" >&2
    fi
  fi
  rm -f "$MADE_FILE" "$CONF"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) printf 'DOCKER_HOST=unix://%s\n' "$SOCKET" ;;
  status) running_pid >/dev/null ;;
  *)
    log "usage: $0 start|stop|env|status"
    exit 2
    ;;
esac
