#!/usr/bin/env bash
# The main job on a built-in default: a stand-in CernVM repository (or /cvmfs/cernvm-prod.cern.ch when the host
# has it), registered and mounted as a Docker image, a container run from it, the status shown, then cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=ensure-engine.sh
source scripts/ensure-engine.sh
ensure_packages
ensure_engine
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build >/dev/null

cli=(node packages/mounter/dist/cli/bin.js)
tag=docker-cernvm-demo/cernvm:4
if [ -d /cvmfs/cernvm-prod.cern.ch/cvm4 ]; then
  branch=cernvm-prod.cern.ch
  cli+=(--cvmfs-dir /cvmfs)
else
  # A directory laid out like cernvm-prod: a busybox root with a release marker, kept between runs.
  branch=cernvm-prod.demo.invalid
  repo=$PWD/.cache/demo-cvmfs/$branch
  if [ ! -x "$repo/cvm4/bin/busybox" ]; then
    mkdir -p "$repo/cvm4/bin" "$repo/cvm4/etc"
    cp /bin/busybox "$repo/cvm4/bin/busybox"
    for applet in sh cat ls echo uname; do ln -sf busybox "$repo/cvm4/bin/$applet"; done
    touch "$repo/cvm4/.installed_cernvm-system-4.7.1.0"
    echo "CernVM 4.7.1.0 (stand-in)" >"$repo/cvm4/etc/cernvm-release"
  fi
  cli+=(--cvmfs-dir "$PWD/.cache/demo-cvmfs")
fi

cleanup() {
  echo >&2
  "${cli[@]}" unmount-all --branch "$branch" || true
  "${cli[@]}" prune >/dev/null || true
}
trap cleanup EXIT

"${cli[@]}" mount --tag "$tag" --branch "$branch"
echo >&2
echo "a container from $tag sees the CernVM root and writes to its own layer:" >&2
docker run --rm --network host "$tag" sh -c 'cat /etc/cernvm-release 2>/dev/null || ls /; echo hello > /tmp-file && ls -a / | head -20'
echo >&2
"${cli[@]}" status
