# Sourced by the scripts that run a second engine (docker26.sh, podman.sh): waiting for a daemon they started to
# answer, and ending it. Each caller defines log() and answers() (true once the daemon serves its API).

# await_daemon NAME PID SECONDS STARTED_NS WHERE LOG: waits until answers() succeeds; on failure or the daemon's
# death, prints its log's last lines and fails.
await_daemon() {
  local name=$1 pid=$2 seconds=$3 started=$4 where=$5 logfile=$6
  for _ in $(seq 1 $((seconds * 2))); do
    if answers; then
      log "$name answers at $where (pid $pid, $((($(date +%s%N) - started) / 1000000)) ms)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  log "$name did not start; last lines of $logfile:"
  tail -n 20 "$logfile" >&2
  return 1
}

# end_daemon NAME PID SECONDS: SIGTERM, then SIGKILL if it is still there after SECONDS.
end_daemon() {
  local name=$1 pid=$2 seconds=$3
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((seconds * 2))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  log "$name (pid $pid) ignored SIGTERM for $seconds s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 1
}
