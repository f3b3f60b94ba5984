#!/bin/sh
# docker-cernvm pilot entrypoint: one HTCondor execute slot in this container.
#
# Rendered beside condor_config and config.d/ by `docker-cernvm-pilot render`; the container runs it under an init
# (Docker's --init / HostConfig.Init), so it is not PID 1 and signals reach it through the init.
#
# Signals:  SIGUSR1  drain peacefully: the running job finishes, no new one starts, then exit 0
#           SIGTERM  graceful: HTCondor shuts down, jobs get their retirement time (SIGINT does the same)
#           SIGQUIT  fast: HTCondor stops at once, jobs are killed
# Exit codes:  0  clean: drained, idle limit, maximum lifetime, or stopped by a signal
#             99  HTCondor ended itself by DAEMON_SHUTDOWN for a reason not known here (counted as clean)
#             78  refused before HTCondor started: the token or the configuration is unusable
#          other  condor_master failed with that code
#
# It never reads the token's content: the token is checked (present, non-empty, mode 0600, owned by root) and
# HTCondor reads it from SEC_TOKEN_SYSTEM_DIRECTORY.
set -u

PILOT_DIR=$(cd "$(dirname "$0")" && pwd)
export CONDOR_CONFIG="$PILOT_DIR/condor_config"
STATUS_DIR="$PILOT_DIR/status"
HEARTBEAT="$STATUS_DIR/heartbeat.json"
EX_CONFIG=78

PHASE=starting       # starting, running, draining, stopping
DRAIN_REASON=
DRAIN_SENT=0
MASTER_PID=
SLEEP_PID=
LAST_STATE=
STARTED_AT=$(date +%s)

log() { printf 'pilot: %s\n' "$*" >&2; }
refuse() { log "error: $*"; exit "$EX_CONFIG"; }

config_value() { condor_config_val "$1" 2>/dev/null; }

require_commands() {
  for command in condor_master condor_config_val condor_off condor_who pgrep stat awk; do
    command -v "$command" >/dev/null 2>&1 || refuse "$command not found in this image: it needs HTCondor and procps"
  done
}

check_token() {
  token=$1
  [ -e "$token" ] || refuse "no pool token at $token: mount the token file there read-only (-v /path/to/pool.token:$token:ro)"
  [ -f "$token" ] || refuse "the pool token $token is not a regular file"
  [ -s "$token" ] || refuse "the pool token $token is empty: create one with condor_token_create on the central manager"
  mode=$(stat -c %a "$token")
  case $mode in
    ?00 | 0) ;;
    *) refuse "the pool token $token has mode $mode: HTCondor refuses a token others can read; chmod 600 it on the host" ;;
  esac
  owner=$(stat -c %u "$token")
  [ "$owner" = 0 ] || refuse "the pool token $token is owned by uid $owner: HTCondor reads it as root; chown root it on the host"
}

# The container's memory limit in MB (cgroup v2 or v1), or the machine's memory when there is no limit.
detect_memory_mb() {
  limit=
  if [ -r /sys/fs/cgroup/memory.max ]; then
    limit=$(cat /sys/fs/cgroup/memory.max)
  elif [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
    limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  fi
  awk -v limit="$limit" '/^MemTotal:/ {
    mb = int($2 / 1024)
    if (limit ~ /^[0-9]+$/ && limit / 1048576 < mb) mb = int(limit / 1048576)
    print mb
  }' /proc/meminfo
}

# State, activity and job id of this container's slot, asked of the local startd (not the collector).
read_slot() {
  condor_who -snapshot -af Name State Activity JobId 2>/dev/null | awk '$1 ~ /^slot/ && $2 != "undefined" { print $2, $3, $4; exit }'
}

# Only word characters reach the JSON: a value HTCondor gives that is anything else is reported as null.
json_word() {
  case $1 in
    '' | undefined | *[!A-Za-z0-9._@-]*) printf 'null' ;;
    *) printf '"%s"' "$1" ;;
  esac
}

write_heartbeat() {
  slot=$(read_slot)
  set -- $slot
  state=${1:-}
  activity=${2:-}
  job=${3:-}
  [ -n "$state" ] && LAST_STATE=$state
  now=$(date +%s)
  tmp="$HEARTBEAT.tmp.$$"
  printf '{"time":"%s","epoch":%s,"startedEpoch":%s,"phase":"%s","state":%s,"activity":%s,"jobId":%s,"drainReason":%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$now" "$STARTED_AT" "$PHASE" \
    "$(json_word "$state")" "$(json_word "$activity")" "$(json_word "$job")" "$(json_word "$DRAIN_REASON")" >"$tmp" &&
    mv -f "$tmp" "$HEARTBEAT"
}

request_drain() {
  case $PHASE in draining | stopping) return 0 ;; esac
  PHASE=draining
  DRAIN_REASON=$1
  log "draining ($1): the running job may finish, no new job starts"
}

# condor_off reaches the local master only once it is up; until then the drain is retried on every tick.
send_drain() {
  if condor_off -peaceful -daemon startd >/dev/null 2>&1; then
    DRAIN_SENT=1
  fi
}

stop_master() {
  PHASE=stopping
  log "$1"
  [ -n "$MASTER_PID" ] && kill "-$2" "$MASTER_PID" 2>/dev/null
}

on_usr1() { request_drain signal; }
on_term() { stop_master "graceful shutdown (SIGTERM): jobs get their retirement time" TERM; }
on_quit() { stop_master "fast shutdown (SIGQUIT)" QUIT; }

# One pass of the watch loop: heartbeat, lifetime, and ending the master once a drained startd has gone.
tick() {
  if [ "$PHASE" = running ] && [ "$MAX_LIFETIME" -gt 0 ] && [ $(($(date +%s) - STARTED_AT)) -ge "$MAX_LIFETIME" ]; then
    request_drain lifetime
  fi
  if [ "$PHASE" = draining ]; then
    [ "$DRAIN_SENT" = 1 ] || send_drain
    if [ "$DRAIN_SENT" = 1 ] && ! pgrep -x condor_startd >/dev/null 2>&1; then
      stop_master "drained: the startd has finished, stopping HTCondor" TERM
    fi
  fi
  write_heartbeat
}

# Caught from here on: a drain or stop that comes during the checks below (seconds of condor_config_val) is answered
# once they are done, instead of ending the shell with the signal's default action.
trap on_usr1 USR1
trap on_term TERM INT
trap on_quit QUIT

require_commands
[ "$$" = 1 ] && log "warning: running as PID 1; run the container with an init (docker run --init) so zombies are reaped"
TOKEN_FILE=$(config_value PILOT_TOKEN_FILE) || refuse "PILOT_TOKEN_FILE is not set in $CONDOR_CONFIG: render the configuration again"
check_token "$TOKEN_FILE"
INTERVAL=$(config_value PILOT_HEARTBEAT_INTERVAL) || INTERVAL=5
MAX_LIFETIME=$(config_value PILOT_MAX_LIFETIME) || MAX_LIFETIME=0
case "$INTERVAL$MAX_LIFETIME" in *[!0-9]*) refuse "PILOT_HEARTBEAT_INTERVAL and PILOT_MAX_LIFETIME must be whole seconds" ;; esac
# The slot's scratch directory (EXECUTE) comes from the host empty and root's: HTCondor wants its own account to own
# it (mode 0755), else it makes it world-writable.
EXECUTE_DIR=$(config_value PILOT_EXECUTE_DIR) || EXECUTE_DIR=
if [ -n "$EXECUTE_DIR" ]; then
  [ -d "$EXECUTE_DIR" ] || refuse "the scratch directory $EXECUTE_DIR is not mounted: mount the slot's host scratch directory there"
  if condor_uid=$(id -u condor 2>/dev/null) && condor_gid=$(id -g condor 2>/dev/null); then
    chown "$condor_uid:$condor_gid" "$EXECUTE_DIR" && chmod 0755 "$EXECUTE_DIR" || log "warning: cannot hand $EXECUTE_DIR to the condor account"
  fi
fi
if [ "$(config_value PILOT_MEMORY_MB)" = auto ]; then
  _CONDOR_MEMORY=$(detect_memory_mb)
  export _CONDOR_MEMORY
fi
mkdir -p "$STATUS_DIR" || refuse "cannot create $STATUS_DIR"

# Told to drain or stop while getting ready (a fill's newest pilots, when the factory drains): no job can have started.
case $PHASE in
  draining | stopping)
    if [ "$PHASE" = draining ]; then asked=drain; else asked=stop; fi
    log "asked to $asked before HTCondor started: exiting 0"
    PHASE=exited
    write_heartbeat
    exit 0
    ;;
esac

condor_master -f &
MASTER_PID=$!
PHASE=running
log "condor_master started (pid $MASTER_PID), slot memory ${_CONDOR_MEMORY:-as configured} MB"

while kill -0 "$MASTER_PID" 2>/dev/null; do
  tick
  sleep "$INTERVAL" &
  SLEEP_PID=$!
  wait "$SLEEP_PID" 2>/dev/null
  kill "$SLEEP_PID" 2>/dev/null
done

# wait is interrupted by a trapped signal too; loop until the master's own status arrives.
while :; do
  wait "$MASTER_PID"
  code=$?
  kill -0 "$MASTER_PID" 2>/dev/null || break
done
previous_phase=$PHASE
PHASE=exited
write_heartbeat

case $code in
  0 | 99)
    if [ -n "$DRAIN_REASON" ]; then
      log "drained ($DRAIN_REASON): exiting 0"
    elif [ "$previous_phase" = stopping ]; then
      log "stopped: exiting 0"
    elif [ "$code" = 0 ] || [ "$LAST_STATE" = Unclaimed ]; then
      log "HTCondor shut down by itself (idle limit): exiting 0"
    else
      log "HTCondor ended itself (DAEMON_SHUTDOWN): exiting 99"
      exit 99
    fi
    exit 0
    ;;
  *)
    log "condor_master failed with exit code $code"
    exit "$code"
    ;;
esac
