#!/usr/bin/env node
// What the tests could leave on the host, recorded before the suite and compared after (.ci/run): network links,
// the mount table, and the host engine's containers and images. Plain node, no dependencies: it records before
// `npm ci` on a clean clone.
//
//   node scripts/host-state.mjs record FILE    writes the host's state to FILE
//   node scripts/host-state.mjs compare FILE   compares the host now with FILE: one line per difference, exit 1
//
// What the suite may leave (its cached roots and images) is listed in scripts/host-state-allowed.txt.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const ALLOWED_FILE = new URL('./host-state-allowed.txt', import.meta.url).pathname;
const KINDS = ['link', 'mount', 'container', 'image'];

/** Link names from `ip -o link`, without the `@peer` a veth or vlan shows. */
export function parseLinks(ipOutput) {
  return ipOutput
    .split('\n')
    .map((line) => line.split(': ')[1])
    .filter((name) => name)
    .map((name) => name.split('@')[0]);
}

/** `MOUNT_POINT FSTYPE` per line of /proc/self/mountinfo: no ids or devices, which differ from one mount to the next. */
export function parseMounts(mountinfo) {
  const mounts = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator === -1) continue;
    mounts.push(`${fields[4]} ${fields[separator + 1]}`);
  }
  return mounts;
}

/** `KIND GLOB` per line (`*` matches anything, `/` too); `#` starts a comment. */
export function parseAllowed(text) {
  const allowed = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [kind, pattern] = line.split(/\s+/, 2);
    if (!KINDS.includes(kind) || !pattern)
      throw new Error(`host-state: not "KIND GLOB" with KIND one of ${KINDS.join(', ')}: ${raw}`);
    const regex = new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    allowed.push({ kind, pattern, regex });
  }
  return allowed;
}

function counts(items) {
  const map = new Map();
  for (const item of items) map.set(item, (map.get(item) ?? 0) + 1);
  return map;
}

/**
 * The differences between two recorded states, one line each (`mount left: …`, `link gone: …`), leaving out what
 * `allowed` lists. Counted, not set-wise: a second mount stacked on a mount point is a difference too.
 */
export function compareHostStates(before, after, allowed = []) {
  const differences = [];
  for (const kind of KINDS) {
    const was = counts(before[kind] ?? []);
    const is = counts(after[kind] ?? []);
    const excused = (item) => allowed.some((a) => a.kind === kind && a.regex.test(item.split(' ')[0]));
    for (const item of [...new Set([...was.keys(), ...is.keys()])].sort()) {
      const delta = (is.get(item) ?? 0) - (was.get(item) ?? 0);
      if (delta === 0 || excused(item)) continue;
      const times = Math.abs(delta) > 1 ? ` (${Math.abs(delta)} times)` : '';
      differences.push(`${kind} ${delta > 0 ? 'left' : 'gone'}: ${item}${times}`);
    }
  }
  return differences;
}

function run(command, args) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function lines(text) {
  return text.split('\n').filter((line) => line);
}

/** The host as it is now. The engine is the one the docker CLI reaches (DOCKER_HOST), the host's own in CI. */
export function recordHostState() {
  return {
    link: parseLinks(run('ip', ['-o', 'link', 'show'])).sort(),
    mount: parseMounts(readFileSync('/proc/self/mountinfo', 'utf8')).sort(),
    container: lines(run('docker', ['ps', '-a', '--format', '{{.Names}}'])).sort(),
    image: lines(run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).sort(),
  };
}

function main([command, file]) {
  if (!file || (command !== 'record' && command !== 'compare')) {
    console.error('usage: node scripts/host-state.mjs record|compare FILE');
    return 2;
  }
  if (command === 'record') {
    writeFileSync(file, `${JSON.stringify(recordHostState(), null, 1)}\n`);
    return 0;
  }
  const differences = compareHostStates(
    JSON.parse(readFileSync(file, 'utf8')),
    recordHostState(),
    parseAllowed(readFileSync(ALLOWED_FILE, 'utf8')),
  );
  if (differences.length === 0) {
    console.error('host-state: the host is as the suite found it (links, mounts, containers, images)');
    return 0;
  }
  console.error(
    `host-state: the suite left the host changed (${differences.length} ${differences.length === 1 ? 'difference' : 'differences'}; allowed leftovers: ${ALLOWED_FILE}):`,
  );
  for (const difference of differences) console.error(`  ${difference}`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`host-state: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
