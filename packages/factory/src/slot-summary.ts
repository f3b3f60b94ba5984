import { isIdle, isUnhealthy } from '@docker-cernvm/pilot';
import type { DesiredState, ObservedContainer } from './reconcile.js';
import type { SlotLedger } from './slot-ledger.js';

/** How many slots are in each state after a reconcile pass. */
export interface SlotSummary {
  desired: number;
  /** Running and not told to drain or stop: the slots that take jobs. */
  serving: number;
  starting: number;
  draining: number;
  /** Being stopped at once (`scale --force`). */
  stopping: number;
  backoff: number;
  claimed: number;
  idle: number;
  /** Running slots whose own health check says they cannot run jobs (they match none). */
  unhealthy: number;
  factoryDraining: boolean;
  /** The oldest heartbeat time (unix seconds) among running slots that write one. */
  oldestHeartbeatEpoch?: number;
  /** The deadline (unix seconds) of the last drain or scale-down, while one is asked for. */
  deadlineEpoch?: number;
  /** The latest deadline (unix seconds) among running slots: when the cores they hold are free at the latest. */
  latestSlotDeadlineEpoch?: number;
  /** Cores held by running containers: what a drain has still to give back. */
  coresHeld: number;
}

/** The summary as `status --json` and /status show it: there the serving slots have always been `running`. */
export type SlotSummaryJson = Omit<SlotSummary, 'serving'> & { running: number };

export function summaryJson(summary: SlotSummary | undefined): SlotSummaryJson | undefined {
  if (!summary) return undefined;
  const { desired, serving, ...rest } = summary;
  return { desired, running: serving, ...rest };
}

/** One slot container as `status` shows it. */
export interface SlotStatus {
  slot: number;
  id: string;
  phase: ObservedContainer['phase'];
  draining: boolean;
  stopping: boolean;
  state?: string;
  jobId?: string;
  /** When the slot must be empty (unix seconds), if it was given a deadline. */
  deadlineEpoch?: number;
  /** Why the slot's health check says it cannot run jobs, and since when (unix seconds). */
  unhealthyReason?: string;
  unhealthySince?: number;
}

const epochOf = (ms: number) => Math.round(ms / 1000);

/** What is there, counted by state, with what the ledger knows of drains, stops, creates and backoff. */
export function summarize(
  desired: DesiredState,
  observed: readonly ObservedContainer[],
  ledger: SlotLedger,
  retryAt: ReadonlyMap<number, number>,
  now: number,
  coresPerSlot = 1,
): SlotSummary {
  const running = observed.filter((c) => c.phase === 'running');
  const serving = running.filter((c) => !ledger.isDraining(c));
  const stopping = running.filter((c) => ledger.isStopping(c.id)).length;
  const epochs = running.flatMap((c) => (c.heartbeat ? [c.heartbeat.epoch] : []));
  const deadlines = running.flatMap((c) => (c.deadline === undefined ? [] : [epochOf(c.deadline)]));
  return {
    desired: desired.slots,
    serving: serving.length,
    starting: ledger.creatingCount,
    draining: running.length - serving.length - stopping,
    stopping,
    backoff: [...retryAt.values()].filter((t) => t > now).length,
    claimed: running.filter((c) => c.heartbeat?.state === 'Claimed').length,
    idle: serving.filter((c) => isIdle(c.heartbeat)).length,
    unhealthy: running.filter((c) => isUnhealthy(c.heartbeat)).length,
    factoryDraining: desired.draining,
    ...(epochs.length ? { oldestHeartbeatEpoch: Math.min(...epochs) } : {}),
    ...(desired.deadline === undefined ? {} : { deadlineEpoch: epochOf(desired.deadline) }),
    ...(deadlines.length ? { latestSlotDeadlineEpoch: Math.max(...deadlines) } : {}),
    coresHeld: running.length * coresPerSlot,
  };
}

/** Each slot container, by slot and then age, with its short id. */
export function slotStatuses(observed: readonly ObservedContainer[], ledger: SlotLedger): SlotStatus[] {
  return [...observed]
    .sort((a, b) => a.slot - b.slot || a.createdAt - b.createdAt)
    .map((c) => ({
      slot: c.slot,
      id: c.id.slice(0, 12),
      phase: c.phase,
      draining: ledger.isDraining(c) && !ledger.isStopping(c.id),
      stopping: ledger.isStopping(c.id),
      ...(c.heartbeat?.state ? { state: c.heartbeat.state } : {}),
      ...(c.heartbeat?.jobId ? { jobId: c.heartbeat.jobId } : {}),
      ...(c.deadline === undefined ? {} : { deadlineEpoch: epochOf(c.deadline) }),
      ...(isUnhealthy(c.heartbeat)
        ? {
            unhealthyReason: c.heartbeat?.unhealthyReason ?? 'unknown',
            ...(c.heartbeat?.unhealthySince ? { unhealthySince: c.heartbeat.unhealthySince } : {}),
          }
        : {}),
    }));
}
