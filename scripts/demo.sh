#!/usr/bin/env bash
# The main job on a built-in default, a local pool: a CernVM-like root with HTCondor served as a Docker image by
# docker-cernvm, a central manager on 127.0.0.1, the factory keeping 4 one-core pilot slots, a few jobs run in them.
# Shows progress (slots, jobs) and where /metrics is. When the jobs are done, or on Ctrl-C, it drains and cleans up.
#
# The root is the tests' fixture (Debian 13 + HTCondor 23.9, built once into /var/cache/docker-cernvm-test), laid
# out as a stand-in repository: a production host would use /cvmfs/cernvm-prod.cern.ch, whose CernVM has no HTCondor
# of its own pool to join here.
set -euo pipefail
cd "$(dirname "$0")/.."

SLOTS=${DEMO_SLOTS:-4}
JOBS=${DEMO_JOBS:-8}
NAME=docker-cernvm-demo
REPOSITORY=cernvm-prod.demo.invalid
TAG=docker-cernvm-demo/cernvm:4
TRUST_DOMAIN=demo.invalid
WORK=$PWD/.cache/demo
CVMFS=$WORK/cvmfs
STANDIN=$CVMFS/$REPOSITORY/cvm4
METRICS=${DEMO_METRICS:-127.0.0.1:9720}

say() { printf '%s\n' "$*" >&2; }

# shellcheck source=ensure-engine.sh
source scripts/ensure-engine.sh
ensure_packages
ensure_engine
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build >/dev/null

mounter=(node packages/mounter/bin/docker-cernvm.js --cvmfs-dir "$CVMFS")
factory_cli=(node packages/factory/bin/docker-cernvm-factory.js)
FACTORY_PID=""
CM=""

cleanup() {
  trap - EXIT INT TERM
  say ""
  if [ -n "$FACTORY_PID" ] && kill -0 "$FACTORY_PID" 2>/dev/null; then
    say "draining: running jobs finish, then every pilot exits …"
    kill -USR1 "$FACTORY_PID" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$FACTORY_PID" 2>/dev/null || break; sleep 1; done
    kill "$FACTORY_PID" 2>/dev/null || true
    wait "$FACTORY_PID" 2>/dev/null || true
  fi
  docker ps -aq --filter "label=org.docker-cernvm.factory=$NAME" | xargs -r docker rm -f >/dev/null
  [ -n "$CM" ] && docker rm -f "$CM" >/dev/null 2>&1
  "${mounter[@]}" unmount-all --repository "$REPOSITORY" >/dev/null 2>&1 || true
  mountpoint -q "$STANDIN" && umount "$STANDIN"
  "${mounter[@]}" prune >/dev/null 2>&1 || true
  say "cleaned up: no demo container, mount or image is left"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The CernVM root, served the way CVMFS serves one: a read-only directory of a repository.
root=$(bash test/fixtures/condor-root.sh)
mkdir -p "$STANDIN"
if ! mountpoint -q "$STANDIN"; then
  mount --bind "$root" "$STANDIN"
  mount -o remount,bind,ro "$STANDIN"
fi
"${mounter[@]}" mount --tag "$TAG" --repository "$REPOSITORY"

# 2. A local pool: collector, negotiator and schedd in one container, a fresh signing key, a token for the pilots.
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
rm -rf "$WORK/cm" "$WORK/state"
mkdir -p "$WORK/cm/config.d" "$WORK/cm/jobs"
install -d -m 0700 "$WORK/cm/passwords.d" "$WORK/cm/tokens.d"
chmod 0777 "$WORK/cm/jobs"
printf 'include : /etc/condor/condor_config\nLOCAL_CONFIG_DIR = /cm/config.d\n' >"$WORK/cm/condor_config"
sed -e "s/@PORT@/$port/g" -e "s/@TRUST_DOMAIN@/$TRUST_DOMAIN/g" test/fixtures/central-manager.conf \
  >"$WORK/cm/config.d/10-central-manager.conf"
install -m 0755 test/fixtures/central-manager-start.sh "$WORK/cm/start.sh"
CM=$NAME-cm
docker rm -f "$CM" >/dev/null 2>&1 || true
docker run -d --name "$CM" --network host --init -e CONDOR_CONFIG=/cm/condor_config -v "$WORK/cm:/cm" "$TAG" /cm/start.sh >/dev/null
say "central manager on 127.0.0.1:$port …"
for _ in $(seq 1 60); do docker exec "$CM" condor_status -collector -af Name >/dev/null 2>&1 && break; sleep 1; done
install -m 0600 /dev/null "$WORK/pool.token"
for _ in $(seq 1 30); do
  docker exec "$CM" condor_token_create -identity "condor@$TRUST_DOMAIN" -key POOL >"$WORK/pool.token" 2>/dev/null && break
  sleep 1
done

# 3. The factory: SLOTS one-core pilots from the mounted image, joining that pool.
pin=(--no-pin)
[ "$(nproc)" -ge "$SLOTS" ] && pin=(--pin)
"${factory_cli[@]}" start --name "$NAME" --slots "$SLOTS" --image "$TAG" --collector "127.0.0.1:$port" \
  --trust-domain "$TRUST_DOMAIN" --token-file "$WORK/pool.token" --state-dir "$WORK/state" --scratch-dir "$WORK/scratch" \
  --socket "$WORK/factory.sock" --listen "$METRICS" --memory-mb 512 "${pin[@]}" --log-format json \
  --exit-when-drained 2>"$WORK/factory.log" &
FACTORY_PID=$!
say "factory $NAME: $SLOTS slots (log: $WORK/factory.log); metrics at http://$METRICS/metrics"

# 4. A few jobs, then progress until they are done.
cat >"$WORK/cm/jobs/demo.sub" <<EOF
executable = /bin/sh
arguments = "-c 'sleep 10; echo job \$(Process) ran on \$(uname -n), Debian \$(cat /etc/debian_version 2>/dev/null)'"
output = /cm/jobs/out.\$(Process)
error = /cm/jobs/err.\$(Process)
log = /cm/jobs/log
should_transfer_files = YES
requirements = DockerCernvmFactory == "$NAME"
queue $JOBS
EOF
chmod 0644 "$WORK/cm/jobs/demo.sub"
docker exec -u tester -w /cm/jobs "$CM" condor_submit -terse demo.sub >/dev/null
say "submitted $JOBS jobs of 10 s; Ctrl-C drains and cleans up"
while :; do
  status=$("${factory_cli[@]}" status --json --socket "$WORK/factory.sock" 2>/dev/null || echo '{}')
  slots=$(printf '%s' "$status" | node -e 'let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
    const s = JSON.parse(t).summary ?? {};
    console.log(`${s.running ?? 0}/${s.desired ?? 0} running, claimed ${s.claimed ?? 0}, idle ${s.idle ?? 0}`);
  })')
  jobs=$(docker exec "$CM" condor_q -all -af JobStatus 2>/dev/null | sort | uniq -c | awk '{n[$2]=$1} END {printf "idle %d, running %d", n[1], n[2]}')
  done_count=$(grep -c '^005 ' "$WORK/cm/jobs/log" 2>/dev/null || true)
  say "slots: $slots | jobs: $jobs, done ${done_count:-0}/$JOBS"
  [ "${done_count:-0}" -ge "$JOBS" ] && break
  kill -0 "$FACTORY_PID" 2>/dev/null || { say "the factory stopped: see $WORK/factory.log"; exit 1; }
  sleep 3
done
say ""
# Not `cat | head`: head may exit before cat is done, and under pipefail cat's SIGPIPE ends the demo with 141.
sed -n 1,3p "$WORK"/cm/jobs/out.* >&2
say "all $JOBS jobs done"
