import { readFile } from 'node:fs/promises';

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

/** This process's limits: the podman service the factory talks to runs on the same host under the same ones. */
export async function hostRlimits(file = '/proc/self/limits'): Promise<SlotRlimits> {
  return parseRlimits(await readFile(file, 'utf8'));
}
