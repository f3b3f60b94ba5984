import { readFile, readdir, readlink } from 'node:fs/promises';

/** One resource limit; `undefined` for a bound of `unlimited`. */
export interface Rlimit {
  soft: number | undefined;
  hard: number | undefined;
}

/** The limits podman raises for every container unless told otherwise (open files, processes). */
export interface SlotRlimits {
  nofile: Rlimit;
  nproc: Rlimit;
}

const ROWS: Record<keyof SlotRlimits, string> = { nofile: 'Max open files', nproc: 'Max processes' };

const boundOf = (text: string | undefined): number | undefined =>
  text === undefined || text === 'unlimited' ? undefined : Number(text);

/** Reads the two limits from the text of /proc/<pid>/limits. */
export function parseRlimits(text: string): SlotRlimits {
  const row = (title: string): Rlimit => {
    const line = text.split('\n').find((l) => l.startsWith(title));
    const [soft, hard] = line ? line.slice(title.length).trim().split(/\s+/) : [];
    return { soft: boundOf(soft), hard: boundOf(hard) };
  };
  return { nofile: row(ROWS.nofile), nproc: row(ROWS.nproc) };
}

/** The inode of the socket listening at `socketPath`, from the text of /proc/net/unix. */
export function listeningInode(netUnix: string, socketPath: string): string | undefined {
  for (const line of netUnix.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // Flags 00010000: __SO_ACCEPTCON, a listening socket; the path is the last field.
    if (fields[7] === socketPath && fields[3] === '00010000') return fields[6];
  }
  return undefined;
}

/** The pid holding the socket with this inode, or undefined when none is visible from here. */
async function holderOf(inode: string): Promise<string | undefined> {
  const target = `socket:[${inode}]`;
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === target) return pid;
    }
  }
  return undefined;
}

/**
 * The limits of the process serving the engine's socket on this host (podman's service lowers its own nproc, so
 * the factory's are not the ones a container can get), or this process's own when that process cannot be found.
 */
export async function serviceRlimits(socketPath: string | undefined): Promise<SlotRlimits> {
  const inode = socketPath
    ? listeningInode(await readFile('/proc/net/unix', 'utf8').catch(() => ''), socketPath)
    : undefined;
  const pid = inode ? await holderOf(inode) : undefined;
  const text = pid ? await readFile(`/proc/${pid}/limits`, 'utf8').catch(() => undefined) : undefined;
  return parseRlimits(text ?? (await readFile('/proc/self/limits', 'utf8')));
}
