#!/usr/bin/env bash
# Builds the four packages afresh and packs each, with the root LICENSE, into OUTDIR with npm pack; prints the
# tarballs' paths, one a line. npm's notices (contents, sizes) go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 1 ] || { echo "usage: scripts/pack.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
packages=(packages/cli-kit packages/mounter packages/pilot packages/factory)

# dist/ anew, so that nothing a former build left (a renamed module, a test helper) is packed.
for dir in "${packages[@]}"; do rm -rf "$dir/dist"; done
npm run build >&2

# npm packs a package's LICENSE whatever `files` says; the one at the root is copied in for the pack only.
remove_licenses() { for dir in "${packages[@]}"; do rm -f "$dir/LICENSE"; done; }
trap remove_licenses EXIT
workspaces=()
for dir in "${packages[@]}"; do
  cp LICENSE "$dir/LICENSE"
  workspaces+=(--workspace "$dir")
done
npm pack --pack-destination "$out" "${workspaces[@]}" | while read -r name; do printf '%s\n' "$out/$name"; done
