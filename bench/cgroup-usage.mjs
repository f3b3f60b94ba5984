// A container's CPU time and memory from its cgroup, as the kernel accounts them (cgroup v1 or v2, Docker's cgroupfs
// or systemd driver). Read while the container exists: its cgroup goes with it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

function cgroupDir(controller, id) {
  const roots = V2 ? ['/sys/fs/cgroup'] : [`/sys/fs/cgroup/${controller}`];
  const candidates = roots.flatMap((root) => [`${root}/docker/${id}`, `${root}/system.slice/docker-${id}.scope`]);
  const found = candidates.find((dir) => existsSync(dir));
  if (!found)
    throw new Error(`no ${controller} cgroup for container ${id.slice(0, 12)} (tried ${candidates.join(', ')})`);
  return found;
}

function statOf(text) {
  return Object.fromEntries(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .map(([k, v]) => [k, Number(v)]),
  );
}

/** CPU seconds (user + system) the container's processes have used since it started. */
export async function cpuSeconds(id) {
  if (V2) return statOf(await readFile(`${cgroupDir('cpu', id)}/cpu.stat`, 'utf8')).usage_usec / 1e6;
  return Number(await readFile(`${cgroupDir('cpuacct', id)}/cpuacct.usage`, 'utf8')) / 1e9;
}

/**
 * The container's memory in bytes: `anon`, its processes' own (anonymous) memory, v1 memory.stat total_rss or v2
 * anon; and `working`, what `docker stats` shows (usage minus inactive page cache). Page cache of the shared root
 * is charged to whichever container read it first, so `anon` is the figure to compare.
 */
export async function memoryBytes(id) {
  const dir = cgroupDir('memory', id);
  const stat = statOf(await readFile(`${dir}/memory.stat`, 'utf8'));
  if (V2) {
    const current = Number(await readFile(`${dir}/memory.current`, 'utf8'));
    return { anon: stat.anon, working: current - stat.inactive_file };
  }
  const usage = Number(await readFile(`${dir}/memory.usage_in_bytes`, 'utf8'));
  return { anon: stat.total_rss, working: usage - stat.total_inactive_file };
}

export const CGROUP_VERSION = V2 ? 2 : 1;
