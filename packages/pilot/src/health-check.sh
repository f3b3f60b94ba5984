#!/bin/bash
# docker-cernvm slot health check, run by the startd every HEALTH_CHECK_SECONDS (STARTD_CRON, 45-health.conf).
#
# Healthy when each repository the slot mounts under /cvmfs answers a stat within HEALTH_TIMEOUT_SECONDS (a hung FUSE
# mount cannot hang the check), the scratch directory takes a file and has HEALTH_MIN_FREE_MB free, and the
# entrypoint's heartbeat is fresh. Prints the slot's CernvmHealthy and CernvmUnhealthyReason (START requires the
# first), and asks the startd for an update only when the verdict changed, so an idle startd is not woken for nothing.
# Keeps the verdict in status/health ("healthy <epoch>" or "unhealthy <since> <reason>"), where the entrypoint reads it
# for the heartbeat the factory watches.
set -u

PILOT_DIR=$(cd "${0%/*}" && pwd)
HEALTH_FILE="$PILOT_DIR/status/health"
HEARTBEAT="$PILOT_DIR/status/heartbeat.json"
HEALTH_REPOSITORIES=()
# shellcheck source=/dev/null
. "$PILOT_DIR/pilot.env" || exit 1
TIMEOUT=${HEALTH_TIMEOUT_SECONDS:-5}
MIN_FREE_MB=${HEALTH_MIN_FREE_MB:-0}
CVMFS_DIR=${HEALTH_CVMFS_DIR:-/cvmfs}
printf -v NOW '%(%s)T' -1

# The last words of a failed command's message: "stat: cannot statx '/x': Transport endpoint is not connected".
cause() {
  local text=${1%%$'\n'*}
  printf '%s' "${text##*: }"
}

# Prints why the repository at $1 does not answer, or nothing when it does.
repository_problem() {
  local out code
  out=$(timeout -s KILL "$TIMEOUT" stat -L -c %i -- "$1" 2>&1 >/dev/null)
  code=$?
  if [ "$code" = 124 ] || [ "$code" = 137 ]; then
    printf 'repository %s does not answer within %s s' "$1" "$TIMEOUT"
  elif [ "$code" != 0 ]; then
    printf 'repository %s: %s' "$1" "$(cause "$out")"
  fi
}

check_repositories() {
  local dir problem
  for dir in "${HEALTH_REPOSITORIES[@]}"; do
    problem=$(repository_problem "$dir")
    [ -z "$problem" ] || { printf '%s' "$problem"; return; }
    # All of /cvmfs bound: each repository mounted there now (a dead one is still listed, and fails its stat).
    if [ "$dir" = "$CVMFS_DIR" ]; then
      shopt -s nullglob
      for dir in "$CVMFS_DIR"/*; do
        problem=$(repository_problem "$dir")
        [ -z "$problem" ] || { printf '%s' "$problem"; return; }
      done
    fi
  done
}

check_scratch() {
  local dir=${EXECUTE_DIR:-} probe out free
  [ -n "$dir" ] || dir=$(condor_config_val EXECUTE 2>/dev/null) || { printf 'EXECUTE is not set'; return; }
  probe="$dir/.cernvm-health.$$"
  if ! out=$( { : >"$probe"; } 2>&1); then
    printf 'scratch %s is not writable: %s' "$dir" "$(cause "$out")"
    return
  fi
  rm -f "$probe"
  out=$(stat -f -c '%a %S' -- "$dir" 2>&1) || { printf 'scratch %s: %s' "$dir" "$(cause "$out")"; return; }
  free=$((${out% *} * ${out#* } / 1048576))
  [ "$free" -ge "$MIN_FREE_MB" ] || printf 'scratch %s has %s MB free, less than %s MB' "$dir" "$free" "$MIN_FREE_MB"
}

check_heartbeat() {
  local written max_age=$((3 * ${HEARTBEAT_SECONDS:-30} + 10))
  written=$(stat -c %Y -- "$HEARTBEAT" 2>/dev/null) || { printf 'no heartbeat at %s' "$HEARTBEAT"; return; }
  [ $((NOW - written)) -le "$max_age" ] || printf 'heartbeat is %s s old (more than %s s)' $((NOW - written)) "$max_age"
}

reason=$(check_repositories)
[ -n "$reason" ] || reason=$(check_scratch)
[ -n "$reason" ] || reason=$(check_heartbeat)
# One line of plain characters: it goes into a ClassAd string and the heartbeat's JSON unescaped.
reason=${reason//[^A-Za-z0-9 ._:\/,()-]/ }

previous_state= previous_since= previous_reason=
[ -r "$HEALTH_FILE" ] && read -r previous_state previous_since previous_reason <"$HEALTH_FILE"
if [ -z "$reason" ]; then
  printf 'CernvmHealthy = True\nCernvmUnhealthyReason = ""\n'
  [ "$previous_state" = healthy ] || changed=1
  printf 'healthy %s\n' "$NOW" >"$HEALTH_FILE" 2>/dev/null
else
  printf 'CernvmHealthy = False\nCernvmUnhealthyReason = "%s"\n' "$reason"
  since=$NOW
  [ "$previous_state" = unhealthy ] && since=${previous_since:-$NOW}
  [ "$previous_state" = unhealthy ] && [ "$previous_reason" = "$reason" ] || changed=1
  printf 'unhealthy %s %s\n' "$since" "$reason" >"$HEALTH_FILE" 2>/dev/null
fi
[ -z "${changed:-}" ] || printf -- '- update:true\n'
exit 0
