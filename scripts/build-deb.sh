#!/usr/bin/env bash
# Builds docker-cernvm_<version>_all.deb into OUTDIR (default dist/) with dpkg-deb alone, beside the four npm
# tarballs it is made from, and prints its path:
# the four packages with their production dependencies under /usr/lib/docker-cernvm, the three commands in /usr/bin,
# the systemd units of deploy/, the commented example configuration as the conffile /etc/docker-cernvm/factory.yaml,
# man pages made from the commands' --help, changelog and copyright. What goes where: docs/packaging.md.
# Needs node and npm (the npm registry, for the production dependencies), dpkg-deb and gzip.
set -euo pipefail
cd "$(dirname "$0")/.."

OUTDIR=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
VERSION=$(node -p 'require("./packages/factory/package.json").version')
PACKAGE=docker-cernvm
DEB="$OUTDIR/${PACKAGE}_${VERSION}_all.deb"
# Reproducible dates: the last commit's, unless the caller fixes one.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
MAINTAINER=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>')}
LIB=/usr/lib/$PACKAGE
DOC=/usr/share/doc/$PACKAGE

# A previous build's artefacts would be taken for this one's.
rm -f "$OUTDIR"/docker-cernvm-*.tgz "$OUTDIR"/docker-cernvm_*_all.deb
WORK=$(mktemp -d /tmp/docker-cernvm-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/root
TARBALLS=$WORK/tarballs
mkdir -p "$STAGE/DEBIAN" "$TARBALLS"

log() { printf '%s\n' "$*" >&2; }

# The npm tarballs, as `npm pack` makes them for the registry.
bash scripts/pack.sh "$TARBALLS" >&2

cp "$TARBALLS"/*.tgz "$OUTDIR/"

# Installed together, each package's dependency on another of ours is met by its tarball, the rest by the registry.
# No install scripts and no optional dependencies: ssh2 (dockerode's, for ssh:// engines) would compile its optional
# crypto binding, and the package is Architecture: all. ssh2 works without it.
mkdir -p "$STAGE$LIB"
npm install --prefix "$STAGE$LIB" --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --no-save \
  "$TARBALLS"/*.tgz >&2
# The tarballs' build-time paths and npm's own bookkeeping have no place on the host.
rm -f "$STAGE$LIB/package.json" "$STAGE$LIB/package-lock.json"
# Dot files are development files of the bundled packages (.npmignore, .eslintrc, CI settings), or npm's (.bin).
find "$STAGE$LIB/node_modules" -name '.*' -prune -exec rm -rf {} +
# tsc copies a bin's #! line into its declaration file, which is no script.
find "$STAGE$LIB/node_modules/@docker-cernvm" -name '*.d.ts' -exec sed -i '1{/^#!/d}' {} +
# Binaries only another runtime or system loads: tar-stream's bare-fs and its kin serve the Bare runtime (node
# resolves tar-stream's "fs" to its own), ssh2's pagent.exe is Windows' Pageant helper.
rm -rf "$STAGE$LIB"/node_modules/bare-*/prebuilds "$STAGE$LIB/node_modules/ssh2/util/pagent.exe"
native=$(find "$STAGE$LIB" -type f -print0 | xargs -0 file -N --mime-type |
  grep -E ': application/(x-(sharedlib|executable|pie-executable|object|mach-binary)|vnd.microsoft.portable-executable)$' || true)
if [[ -n "$native" ]]; then
  log "native code would make the package architecture-dependent:"
  log "$native"
  exit 1
fi

# The commands: /usr/bin links to each package's bin, which runs on Debian's /usr/bin/node.
mkdir -p "$STAGE/usr/bin"
for pair in mounter:docker-cernvm pilot:docker-cernvm-pilot factory:docker-cernvm-factory; do
  workspace=${pair%%:*} command=${pair#*:}
  dir=$LIB/node_modules/@docker-cernvm/$workspace
  target=$(node -p "require('$STAGE$dir/package.json').bin['$command']")
  target=${target#./}
  sed -i '1s|^#!/usr/bin/env node$|#!/usr/bin/node|' "$STAGE$dir/$target"
  ln -s "../lib/$PACKAGE/node_modules/@docker-cernvm/$workspace/$target" "$STAGE/usr/bin/$command"
done

# systemd units, starting the commands from /usr/bin rather than from whatever PATH holds.
mkdir -p "$STAGE/usr/lib/systemd/system"
for unit in deploy/*.service; do
  sed -e 's|/usr/bin/env docker-cernvm|/usr/bin/docker-cernvm|' \
    -e '/^# Install: cp deploy/s|.*|# Installed by the docker-cernvm package; enable it with systemctl enable.|' \
    "$unit" >"$STAGE/usr/lib/systemd/system/$(basename "$unit")"
done

mkdir -p "$STAGE/etc/$PACKAGE"
cp deploy/factory.example.yaml "$STAGE/etc/$PACKAGE/factory.yaml"
echo "/etc/$PACKAGE/factory.yaml" >"$STAGE/DEBIAN/conffiles"

# Man pages from the commands' own help, as the staged commands print it.
mkdir -p "$STAGE/usr/share/man/man1"
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
for command in docker-cernvm docker-cernvm-pilot docker-cernvm-factory; do
  node scripts/help-to-man.mjs "$STAGE/usr/bin/$command" "$command" "$VERSION" "$date" |
    gzip -9n >"$STAGE/usr/share/man/man1/$command.1.gz"
done

# Documentation: the Debian changelog (the project's own history is CHANGELOG.md), copyright, the operator guide.
mkdir -p "$STAGE$DOC"
{
  printf '%s (%s) unstable; urgency=medium\n\n' "$PACKAGE" "$VERSION"
  printf '  * Release %s of docker-cernvm; see the project'"'"'s CHANGELOG.md.\n\n' "$VERSION"
  printf ' -- %s  %s\n' "$MAINTAINER" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$STAGE$DOC/changelog.gz"
node scripts/deb-copyright.mjs "$STAGE$LIB/node_modules" "$LIB/node_modules" >"$STAGE$DOC/copyright"
gzip -9n <docs/operator-guide.md >"$STAGE$DOC/operator-guide.md.gz"
cp deploy/prometheus-alerts.yaml deploy/grafana-dashboard.json "$STAGE$DOC/"
# A fleet's tools, run from the site's controller rather than on this host (docs/fleet.md).
mkdir -p "$STAGE$DOC/examples"
cp scripts/fleet-roll.sh deploy/prometheus-fleet.yaml deploy/prometheus-fleet-rules.yaml \
  deploy/prometheus-fleet-targets.example.json "$STAGE$DOC/examples/"

cp deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$STAGE/DEBIAN/"
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"

# Modes as Debian policy wants them: directories 0755, files 0644, scripts (a #! line) 0755.
find "$STAGE" -path "$STAGE/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
find "$STAGE" -path "$STAGE/DEBIAN" -prune -o -type f -exec chmod 0644 {} +
find "$STAGE" -path "$STAGE/DEBIAN" -prune -o -type f -print0 |
  xargs -0 awk 'FNR == 1 { if (substr($0, 1, 2) == "#!") print FILENAME; nextfile }' |
  tr '\n' '\0' | xargs -0 -r chmod 0755
find "$STAGE" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$STAGE/DEBIAN/md5sums"
installed_size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@MAINTAINER@|$MAINTAINER|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
  deploy/debian/control >"$STAGE/DEBIAN/control"

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >&2
log "built $DEB ($(du -h "$DEB" | cut -f1), installed $((installed_size / 1024)) MB)"
printf '%s\n' "$DEB"
