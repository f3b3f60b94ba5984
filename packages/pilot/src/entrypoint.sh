#!/bin/bash
# docker-cernvm pilot entrypoint: one HTCondor execute slot in this container.
#
# Rendered beside condor_config and config.d/ by `docker-cernvm-pilot render`; the container runs it under an init
# (Docker's --init / HostConfig.Init), so it is not PID 1 and signals reach it through the init.
#
# Signals:  SIGUSR1  drain: no new job starts, the running one finishes (or, with a deadline in deadline.conf beside
#                    this file, is vacated at it: its retirement time ends there), then exit 0
#           SIGTERM  graceful: the running job gets its soft kill at once and goes back to the queue, then HTCondor
#                    shuts down (SIGINT does the same)
#           SIGQUIT  fast: HTCondor stops at once, jobs are killed
# Exit codes:  0  clean: drained, idle limit, maximum lifetime, or stopped by a signal
#             99  HTCondor ended itself by DAEMON_SHUTDOWN for a reason not known here (counted as clean)
#             78  refused before HTCondor started: the token or the configuration is unusable
#          other  condor_master failed with that code
#
# It never reads the token's content: the token is checked (present, non-empty, mode 0600, owned by root) and
# HTCondor reads it from SEC_TOKEN_SYSTEM_DIRECTORY.
#
# Bash (4.2 or later), because an idle slot's watch loop then starts no process: it learns the slot's state from the
# startd's own log as lines arrive, and keeps time with builtins. Its settings come from pilot.env beside it.
set -u

PILOT_DIR=$(cd "${0%/*}" && pwd)
export CONDOR_CONFIG="$PILOT_DIR/condor_config"
STATUS_DIR="$PILOT_DIR/status"
HEARTBEAT="$STATUS_DIR/heartbeat.json"
DEADLINE_FILE="$PILOT_DIR/deadline.conf"
HEALTH_FILE="$STATUS_DIR/health"
EX_CONFIG=78

PHASE=starting # starting, running, draining, stopping
DRAIN_REASON=
DRAIN_SENT=0
MASTER_PID=
UNSENT_STOP= # a stop signal that came before the master started, for it
LOG_READER_PID=
WATCHING=0
STARTD_EXITED=0
STATE=
ACTIVITY=
JOB_ID=
JOB_BEGAN=
JOB_ENDS=
JOB_END_COUNT=0
CHANGED=0
DEADLINE=      # Unix time by which the slot must be empty, from DEADLINE_FILE
DEADLINE_LINE= # that file's line as the startd last read it
printf -v STARTED_AT '%(%s)T' -1

log() { printf 'pilot: %s\n' "$*" >&2; }
refuse() { log "error: $*"; exit "$EX_CONFIG"; }

require_commands() {
  for command in condor_master condor_config_val condor_off condor_reconfig pgrep stat awk tail mkfifo; do
    command -v "$command" >/dev/null 2>&1 || refuse "$command not found in this image: it needs HTCondor and procps (and bash, which runs this)"
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

# The startd logs each change of its slot ("slot1: Changing state and activity: Claimed/Idle -> Preempting/Vacating",
# "Changing state: Owner -> Unclaimed", "Changing activity: Idle -> Busy", "Remote job ID is 2.0"): the same state
# condor_who reports, without starting a process every few seconds to ask for it.
read_log_line() {
  case $1 in
    *': Changing state and activity: '*' -> '*/*)
      set_state "${1##* -> }"
      set_activity "${1##*/}"
      ;;
    *': Changing state: '*' -> '*) set_state "${1##* -> }" ;;
    *': Changing activity: '*' -> '*) set_activity "${1##* -> }" ;;
    *': Remote job ID is '*) JOB_ID=${1##* is } ;;
    *' (condor_STARTD) pid '*' EXITING WITH STATUS '*) STARTD_EXITED=1 ;;
    [0-9]*' Starting a '*' universe job with ID: '*) JOB_BEGAN=${1%% *} ;;
    [0-9]*' Process exited, pid='*', status='*) job_ended "${1%% *}" "${1##*status=}" 0 ;;
    [0-9]*' Process exited, pid='*', signal='*) job_ended "${1%% *}" "${1##*signal=}" 128 ;;
    *) return 0 ;;
  esac
  CHANGED=1
}

# The starter's log (Unix times, 46-job-ends.conf) says when its job began and how it ended: the last ten ends go
# into the heartbeat as [seconds, exit status], a signal as 128 + its number, for the factory's black-hole guard.
job_ended() {
  local end=$1 code=$2 offset=$3
  case $JOB_BEGAN:$end:$code in *[!0-9:]* | :* | *::* | *:) JOB_BEGAN= && return 0 ;; esac
  JOB_ENDS="${JOB_ENDS:+$JOB_ENDS,}[$((end - JOB_BEGAN)),$((offset + 10#$code))]"
  JOB_END_COUNT=$((JOB_END_COUNT + 1))
  if [ "$JOB_END_COUNT" -gt 10 ]; then
    JOB_ENDS=${JOB_ENDS#*],}
    JOB_END_COUNT=10
  fi
  JOB_BEGAN=
}

set_state() {
  STATE=${1%%/*}
  ACTIVITY=${ACTIVITY:-Idle}
  [ "$STATE" = Claimed ] || JOB_ID=
}

set_activity() {
  ACTIVITY=$1
  [ "$ACTIVITY" != Idle ] || JOB_ID=
}

# Sets the variable named $1 to $2 as a JSON string. Only word characters reach the JSON: a value HTCondor gives
# that is anything else is reported as null.
json_word() {
  case $2 in
    '' | undefined | *[!A-Za-z0-9._@-]*) printf -v "$1" 'null' ;;
    *) printf -v "$1" '"%s"' "$2" ;;
  esac
}

# The health check's last verdict (health-check.sh writes it) as heartbeat fields; null before the first check. Its
# reason holds only characters the check lets through, none of which JSON escapes.
health_fields() {
  local verdict= since= why=
  [ -r "$HEALTH_FILE" ] && read -r verdict since why <"$HEALTH_FILE"
  case $verdict:$since in
    healthy:*) HEALTH_JSON='"healthy":true,"unhealthySince":null,"unhealthyReason":null' ;;
    unhealthy:*[!0-9]* | unhealthy:) HEALTH_JSON='"healthy":null,"unhealthySince":null,"unhealthyReason":null' ;;
    unhealthy:*) HEALTH_JSON="\"healthy\":false,\"unhealthySince\":$since,\"unhealthyReason\":\"${why//[^A-Za-z0-9 ._:\/,()-]/ }\"" ;;
    *) HEALTH_JSON='"healthy":null,"unhealthySince":null,"unhealthyReason":null' ;;
  esac
}

write_heartbeat() {
  local now time state activity job reason tmp="$HEARTBEAT.tmp.$$"
  printf -v now '%(%s)T' -1
  TZ=UTC0 printf -v time '%(%Y-%m-%dT%H:%M:%SZ)T' "$now"
  json_word state "$STATE"
  json_word activity "$ACTIVITY"
  json_word job "$JOB_ID"
  json_word reason "$DRAIN_REASON"
  health_fields
  printf '{"time":"%s","epoch":%s,"startedEpoch":%s,"phase":"%s","state":%s,"activity":%s,"jobId":%s,"drainReason":%s,%s,"jobEnds":[%s]}\n' \
    "$time" "$now" "$STARTED_AT" "$PHASE" "$state" "$activity" "$job" "$reason" "$HEALTH_JSON" "$JOB_ENDS" >"$tmp" &&
    mv -f "$tmp" "$HEARTBEAT"
  CHANGED=0
}

request_drain() {
  case $PHASE in draining | stopping) return 0 ;; esac
  PHASE=draining
  DRAIN_REASON=$1
  CHANGED=1
  log "draining ($1): the running job may finish, no new job starts"
}

# condor_off reaches the local master only once it is up; until then the drain is retried on every tick. Graceful, not
# peaceful: a peaceful shutdown gives unlimited retirement, so a deadline that comes later could not end it.
send_drain() {
  if condor_off -graceful -daemon startd >/dev/null 2>&1; then
    DRAIN_SENT=1
  fi
}

# The deadline file is also a config snippet the startd includes: a reconfig makes a running slot advertise a new one.
# Read with builtins on every tick; until the startd takes the reconfig it is asked again at the next tick.
read_deadline() {
  local line=
  [ -f "$DEADLINE_FILE" ] && read -r line <"$DEADLINE_FILE"
  [ "$line" != "$DEADLINE_LINE" ] || return 0
  case $line in
    '') DEADLINE= ;;
    'CernvmDeadline = '[0-9]*) DEADLINE=${line##* } ;;
    *) DEADLINE= ;;
  esac
  case $DEADLINE in *[!0-9]*) DEADLINE= ;; esac
  if [ "$PHASE" = starting ] || condor_reconfig -daemon startd >/dev/null 2>&1; then
    DEADLINE_LINE=$line
    log "deadline ${DEADLINE:-none}: the slot ad says so"
  fi
}

stop_master() {
  PHASE=stopping
  CHANGED=1
  log "$1"
  # Before the master has started, its signal waits for it (UNSENT_STOP).
  if [ -n "$MASTER_PID" ]; then kill "-$2" "$MASTER_PID" 2>/dev/null; else UNSENT_STOP=$2; fi
}

# Bash runs a trap while the watch loop waits in read, but read then goes on waiting: a trap does what cannot wait
# and wakes the loop (a line on its descriptor), which does the rest.
wake() { [ "$WATCHING" = 0 ] || printf 'wake\n' >&3; }
on_usr1() { request_drain signal; wake; }
# A stop is not a drain: a graceful shutdown alone would give the job the drain's retirement, unlimited without a
# deadline, until docker stop kills it and the schedd waits out the job's lease. With retirement 0 (read by a reconfig
# from STOP_FILE, which the configuration includes) the job gets its soft kill at once and goes back to the queue.
vacate_job() {
  [ "$STATE" = Claimed ] || return 0
  { printf 'MAXJOBRETIREMENTTIME = 0\n' >"$STOP_FILE" && condor_reconfig -daemon startd >/dev/null 2>&1; } ||
    log "warning: cannot end the job's retirement: it runs until the container is killed"
}
on_term() {
  [ "$PHASE" = stopping ] || vacate_job
  stop_master "graceful shutdown (SIGTERM): the running job is vacated" TERM
  wake
}
on_quit() { stop_master "fast shutdown (SIGQUIT)" QUIT; wake; }

# One pass of the watch loop: heartbeat, lifetime, and ending the master once a drained startd has gone.
tick() {
  read_deadline
  if [ "$PHASE" = running ] && [ "$MAX_LIFETIME" -gt 0 ] && [ $(($1 - STARTED_AT)) -ge "$MAX_LIFETIME" ]; then
    request_drain lifetime
  fi
  # A draining startd vacates the job by itself (its retirement ends at the deadline); a slot still taking jobs
  # drains at the deadline, so that it ends too.
  if [ "$PHASE" = running ] && [ -n "$DEADLINE" ] && [ "$1" -ge "$DEADLINE" ]; then
    request_drain deadline
  fi
  if [ "$PHASE" = draining ]; then
    [ "$DRAIN_SENT" = 1 ] || send_drain
    if [ "$DRAIN_SENT" = 1 ] && { [ "$STARTD_EXITED" = 1 ] || ! pgrep -x condor_startd >/dev/null 2>&1; }; then
      stop_master "drained: the startd has finished, stopping HTCondor" TERM
    fi
  fi
  write_heartbeat
}

# The watch loop's descriptor 3: a FIFO open for reading and writing (so it never ends), into which tail copies the
# startd's log from its first line (waiting for the file to appear) and the traps write their wake lines.
open_watch_fifo() {
  local fifo="${TMPDIR:-/tmp}/docker-cernvm-pilot.$$.fifo"
  mkfifo -m 600 "$fifo" && exec 3<>"$fifo" && rm -f "$fifo" || refuse "cannot make the FIFO $fifo"
  WATCHING=1
}

# From the first line: what was read before is read again, so the job ends start over too.
follow_start_log() {
  JOB_BEGAN=
  JOB_ENDS=
  JOB_END_COUNT=0
  tail -n +1 -F "$START_LOG" ${STARTER_LOG:+"$STARTER_LOG"} >&3 2>/dev/null &
  LOG_READER_PID=$!
}

# Caught from here on: a drain or stop that comes during the checks below (seconds on a busy host) is answered
# once they are done, instead of ending the shell with the signal's default action.
trap on_usr1 USR1
trap on_term TERM INT
trap on_quit QUIT
# A child that ends (the master above all) wakes the loop too.
trap wake CHLD

require_commands
[ "$$" = 1 ] && log "warning: running as PID 1; run the container with an init (docker run --init) so zombies are reaped"
# shellcheck source=/dev/null
. "$PILOT_DIR/pilot.env" || refuse "cannot read $PILOT_DIR/pilot.env: render the pilot directory again"
TOKEN_FILE=${TOKEN_FILE:-}
[ -n "$TOKEN_FILE" ] || refuse "TOKEN_FILE is not set in $PILOT_DIR/pilot.env: render the pilot directory again"
check_token "$TOKEN_FILE"
INTERVAL=${HEARTBEAT_SECONDS:-5}
MAX_LIFETIME=${MAX_LIFETIME_SECONDS:-0}
case "$INTERVAL$MAX_LIFETIME" in *[!0-9]*) refuse "HEARTBEAT_SECONDS and MAX_LIFETIME_SECONDS must be whole seconds" ;; esac
START_LOG=$(condor_config_val STARTD_LOG 2>/dev/null) || refuse "STARTD_LOG is not set in $CONDOR_CONFIG"
STOP_FILE="${START_LOG%/*}/cernvm-stop.conf"
rm -f "$STOP_FILE"
# Without it no job end is known, and the heartbeat's jobEnds stays empty.
STARTER_LOG=$(condor_config_val STARTER_LOG 2>/dev/null) || STARTER_LOG=
# The slot's scratch directory (EXECUTE) comes from the host empty and root's: HTCondor wants its own account to own
# it (mode 0755), else it makes it world-writable.
EXECUTE_DIR=${EXECUTE_DIR:-}
condor_uid=$(id -u condor 2>/dev/null) && condor_gid=$(id -g condor 2>/dev/null) || condor_uid=
if [ -n "$EXECUTE_DIR" ]; then
  [ -d "$EXECUTE_DIR" ] || refuse "the scratch directory $EXECUTE_DIR is not mounted: mount the slot's host scratch directory there"
  if [ -n "$condor_uid" ]; then
    chown "$condor_uid:$condor_gid" "$EXECUTE_DIR" && chmod 0755 "$EXECUTE_DIR" || log "warning: cannot hand $EXECUTE_DIR to the condor account"
  fi
fi
if [ "${MEMORY_MB:-}" = auto ]; then
  _CONDOR_MEMORY=$(detect_memory_mb)
  export _CONDOR_MEMORY
fi
mkdir -p "$STATUS_DIR" || refuse "cannot create $STATUS_DIR"
# The health check may run as the condor account (the startd's cron jobs do): its verdict file is that account's.
: >"$HEALTH_FILE" && { [ -z "$condor_uid" ] || chown "$condor_uid:$condor_gid" "$HEALTH_FILE"; } ||
  log "warning: cannot prepare $HEALTH_FILE for the health check"

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

open_watch_fifo
follow_start_log
read_deadline # the startd reads the file at its start: no reconfig for what is there now
condor_master -f &
MASTER_PID=$!
# A drain or stop that came since the check above must not be lost: a drain is sent once the master answers (tick),
# a stop now.
case $PHASE in
  starting) PHASE=running ;;
  stopping) [ -z "$UNSENT_STOP" ] || kill "-$UNSENT_STOP" "$MASTER_PID" 2>/dev/null ;;
esac
log "condor_master started (pid $MASTER_PID), slot memory ${_CONDOR_MEMORY:-as configured} MB"

# An idle slot's loop wakes only for a line of the log, a signal, a child's end, or the next heartbeat. While a drain
# waits for the master to take it it looks again every second, and for the startd to finish every 5 s. Once the master
# is told to stop it looks every second: its end (SIGCHLD) does not interrupt the read, so it would wait a heartbeat.
next_tick=0
while kill -0 "$MASTER_PID" 2>/dev/null; do
  printf -v now '%(%s)T' -1
  if [ "$CHANGED" = 1 ] || [ "$now" -ge "$next_tick" ]; then
    tick "$now"
    every=$INTERVAL
    if [ "$PHASE" = draining ]; then every=$((DRAIN_SENT ? (INTERVAL < 5 ? INTERVAL : 5) : 1)); fi
    [ "$PHASE" != stopping ] || every=1
    next_tick=$((now + every))
    # A deadline is kept to the second, not to the next heartbeat.
    if [ -n "$DEADLINE" ] && [ "$PHASE" = running ] && [ "$DEADLINE" -gt "$now" ] && [ "$DEADLINE" -lt "$next_tick" ]; then
      next_tick=$DEADLINE
    fi
  fi
  # Killed by someone: started again, from the log's first line, which ends in the same state.
  kill -0 "$LOG_READER_PID" 2>/dev/null || follow_start_log
  timeout=$((next_tick - now))
  if read -r -t $((timeout > 1 ? timeout : 1)) line <&3; then
    read_log_line "$line"
    # A burst of lines (a claim and its job) is read whole before the heartbeat says where it ended.
    while read -r -t 0 <&3 && read -r line <&3; do read_log_line "$line"; done
  fi
done

# wait is interrupted by a trapped signal too; loop until the master's own status arrives.
while :; do
  wait "$MASTER_PID"
  code=$?
  kill -0 "$MASTER_PID" 2>/dev/null || break
done
WATCHING=0
kill "$LOG_READER_PID" 2>/dev/null
previous_phase=$PHASE
PHASE=exited
write_heartbeat

case $code in
  0 | 99)
    if [ -n "$DRAIN_REASON" ]; then
      log "drained ($DRAIN_REASON): exiting 0"
    elif [ "$previous_phase" = stopping ]; then
      log "stopped: exiting 0"
    elif [ "$code" = 0 ] || [ "$STATE" = Unclaimed ]; then
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
