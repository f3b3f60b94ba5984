#!/usr/bin/env bash
# Rolls a fleet of factories to a new image (a CernVM snapshot's placeholder tag), one host at a time: switches a host,
# waits until every slot of it is a new pilot on that image and the host is back at its desired count, then the next.
# No job is evicted (each old pilot finishes its job first), and never more than one host rolls at once.
#
#   fleet-roll.sh --image TAG --switch CMD [--version V] [--timeout S] [--interval S] HOSTS_FILE
#
# HOSTS_FILE: one host a line, `<host> <command that runs docker-cernvm-factory for it>`, e.g.
#   wn-r12-01 ssh root@wn-r12-01 docker-cernvm-factory
# --switch: a bash command that moves one host to the image (mount the snapshot, set `image:`, reload); it gets HOST,
#   FACTORY (that host's command) and IMAGE in its environment, e.g.
#   'ssh root@$HOST "docker-cernvm mount --tag $IMAGE --snapshot cernvm-system-4.7.2.0 &&
#      sed -i \"s|^image: .*|image: $IMAGE|\" /etc/docker-cernvm/factory.yaml && systemctl reload docker-cernvm-factory"'
# --version: also require the template's CernVM version. --timeout: per host, seconds (default 3600).
# Progress goes to stderr, one line per change; exit 0 when all hosts rolled, 1 at the first host that fails (the
# hosts after it are left as they were), 2 for a usage error. Needs bash and jq. See docs/fleet.md.
set -euo pipefail

usage() {
  sed -n '6,7p' "$0" | sed 's/^# *//' >&2
  exit 2
}
fail() {
  echo "fleet-roll: error: $*" >&2
  exit 1
}
say() { echo "fleet-roll: $*" >&2; }

image='' version='' switch='' timeout=3600 interval=10 hosts_file=''
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=${2:-}; shift 2 ;;
    --version) version=${2:-}; shift 2 ;;
    --switch) switch=${2:-}; shift 2 ;;
    --timeout) timeout=${2:-}; shift 2 ;;
    --interval) interval=${2:-}; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "fleet-roll: error: unknown option $1" >&2; usage ;;
    *) hosts_file=$1; shift ;;
  esac
done
[ -n "$image" ] && [ -n "$switch" ] && [ -n "$hosts_file" ] || usage
[[ "$timeout" =~ ^[0-9]+$ && "$interval" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage
[ -r "$hosts_file" ] || fail "cannot read the hosts file $hosts_file"
command -v jq >/dev/null || fail "jq is needed (Debian: apt-get install jq)"

mapfile -t lines < <(grep -Ev '^[[:space:]]*(#|$)' "$hosts_file")
[ ${#lines[@]} -gt 0 ] || fail "no hosts in $hosts_file"

# One host's status --json, or nothing when it does not answer (a reload or an ssh hiccup is not a failure yet).
status_of() { bash -c "$1 status --json" 2>/dev/null || true; }

# Reads a status on stdin, with the old slot ids as $old: "converged" or a progress line.
# shellcheck disable=SC2016 # jq's own variables
progress='
  (.summary // {}) as $s
  | ([.slots[] | select(.phase == "running" and (.id as $id | $old | index($id) | not))] | length) as $new
  | if .template.image != $image then "image still \(.template.image)"
    elif $version != "" and .template.cernvmVersion != $version then "CernVM version still \(.template.cernvmVersion)"
    elif .summary == null then "starting"
    elif $s.draining == 0 and $s.starting == 0 and $s.stopping == 0 and $s.running == $s.desired
      and ([.slots[].id] - ([.slots[].id] - $old) | length) == 0 then "converged"
    else "\($new)/\($s.desired) new, \($s.draining) draining, \($s.starting) starting, \($s.stopping) stopping"
    end'

started=$(date +%s)
count=${#lines[@]}
index=0
for line in "${lines[@]}"; do
  index=$((index + 1))
  read -r host factory <<<"$line"
  [ -n "$factory" ] || fail "hosts file line '$line': expected '<host> <factory command>'"
  before=$(status_of "$factory")
  [ -n "$before" ] || fail "$host: no answer from '$factory status --json'"
  old=$(jq -c '[.slots[].id]' <<<"$before")
  if [ "$(jq -r --arg image "$image" --arg version "$version" --argjson old '[]' "$progress" <<<"$before")" = converged ]; then
    say "$host ($index/$count): already on $image"
    continue
  fi
  say "$host ($index/$count): switching to $image ($(jq -r '.template.image' <<<"$before") before, $(jq '.slots | length' <<<"$before") slots)"
  host_started=$(date +%s)
  HOST=$host FACTORY=$factory IMAGE=$image bash -c "$switch" >&2 || fail "$host: the switch command failed ($?)"
  last=''
  while :; do
    now=$(date +%s)
    current=$(status_of "$factory")
    if [ -n "$current" ]; then
      state=$(jq -r --arg image "$image" --arg version "$version" --argjson old "$old" "$progress" <<<"$current")
    else
      state="not answering"
    fi
    [ "$state" = converged ] && break
    if [ "$state" != "$last" ]; then
      say "$host: $state"
      last=$state
    fi
    [ $((now - host_started)) -lt "$timeout" ] ||
      fail "$host did not converge to $image within $timeout s (last: $state); the hosts after it are untouched"
    sleep "$interval"
  done
  say "$host ($index/$count): on $image after $(($(date +%s) - host_started)) s"
done
say "$count hosts on $image in $(($(date +%s) - started)) s"
