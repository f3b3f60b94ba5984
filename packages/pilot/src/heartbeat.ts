import { readRegularFile } from './regular-file.js';

/** Where the pilot entrypoint is in its life, beside HTCondor's own slot state. */
export type PilotPhase = 'starting' | 'running' | 'draining' | 'stopping' | 'exited';

/** What `/pilot/status/heartbeat.json` says; written by the entrypoint every few seconds, atomically. */
export interface Heartbeat {
  time: string;
  epoch: number;
  startedEpoch: number;
  phase: PilotPhase;
  /** HTCondor's slot state (Unclaimed, Claimed, ...), null while the startd does not answer. */
  state: string | null;
  activity: string | null;
  jobId: string | null;
  drainReason: string | null;
  /** The health check's last verdict (health-check.sh); null before its first run, absent from older pilots. */
  healthy?: boolean | null;
  /** Epoch seconds since which the slot is unhealthy without a break. */
  unhealthySince?: number | null;
  unhealthyReason?: string | null;
  /** The slot's last jobs (at most ten, oldest first) as [seconds it ran, exit status, 128 + signal when killed]. */
  jobEnds?: readonly (readonly [seconds: number, status: number])[];
}

/** At most this many job ends in a heartbeat: the black-hole guard looks at no more. */
export const MAX_JOB_ENDS = 10;

function isJobEnds(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length <= MAX_JOB_ENDS &&
    value.every(
      (end) => Array.isArray(end) && end.length === 2 && end.every((n) => Number.isInteger(n) && (n as number) >= 0),
    )
  );
}

const PHASES: ReadonlySet<string> = new Set(['starting', 'running', 'draining', 'stopping', 'exited']);

function stringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Parses a heartbeat; undefined when the text is not one (a reader must tolerate a pilot that never wrote). */
export function parseHeartbeat(text: string): Heartbeat | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const valid =
    typeof v.time === 'string' &&
    typeof v.epoch === 'number' &&
    typeof v.startedEpoch === 'number' &&
    typeof v.phase === 'string' &&
    PHASES.has(v.phase) &&
    stringOrNull(v.state) &&
    stringOrNull(v.activity) &&
    stringOrNull(v.jobId) &&
    stringOrNull(v.drainReason) &&
    [undefined, null, true, false].includes(v.healthy as boolean | null | undefined) &&
    (v.unhealthySince === undefined || v.unhealthySince === null || typeof v.unhealthySince === 'number') &&
    (v.unhealthyReason === undefined || stringOrNull(v.unhealthyReason)) &&
    (v.jobEnds === undefined || isJobEnds(v.jobEnds));
  return valid ? (v as unknown as Heartbeat) : undefined;
}

/** Far more than a heartbeat ever is: a larger file is not one. */
const HEARTBEAT_MAX_BYTES = 64 * 1024;

/**
 * Reads a heartbeat file; undefined when it is missing or unreadable. Synchronous, and a missing file is no error:
 * a pass reads every running slot's, and during a fill none is there yet. Through node's promise API a read cost
 * 60 µs of CPU missing and 260 µs present, against 7 and 25 µs (bench on this machine).
 *
 * The slot's container writes this file, so only a regular file of a heartbeat's size is read, and not through a
 * link: a FIFO there would have blocked the factory on its read for good, and /dev/zero filled its memory.
 */
export function readHeartbeat(file: string): Heartbeat | undefined {
  const found = readRegularFile(file, HEARTBEAT_MAX_BYTES);
  return found && parseHeartbeat(found.content.toString('utf8'));
}

/** Unhealthy means the slot's own health check says so; a pilot without a verdict counts as healthy. */
export function isUnhealthy(heartbeat: Heartbeat | undefined): boolean {
  return heartbeat?.healthy === false;
}

/** Idle means a running pilot whose slot nobody has claimed: the cheapest one to take away. */
export function isIdle(heartbeat: Heartbeat | undefined): boolean {
  return heartbeat?.phase === 'running' && heartbeat.state === 'Unclaimed';
}
