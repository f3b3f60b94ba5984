import type { Clock } from './clock.js';
import type { ListedContainer, SlotRuntime } from './docker-runtime.js';
import type { ObservedContainer } from './reconcile.js';
import type { SlotDirs } from './slot-dirs.js';
import type { SlotLedger } from './slot-ledger.js';

/** Why a slot's container ended; `oom`: the kernel killed a process of the slot for the slot's memory limit. */
export const EXIT_REASONS = ['drained', 'clean', 'failed', 'oom'] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

/** An exit an admin should look at: the slot did not end because it was asked to or by itself. */
export const isProblemExit = (reason: ExitReason): boolean => reason === 'failed' || reason === 'oom';

/** A container's exit, reported once. */
export interface SlotExit {
  slot: number;
  id: string;
  exitCode: number;
  reason: ExitReason;
  ranForMs?: number;
  /** How long until the slot is tried again, when it backs off. */
  retryInMs?: number;
}

export interface Observation {
  observed: ObservedContainer[];
  /** The exits seen for the first time, in the order the engine listed them. */
  exits: SlotExit[];
}

export interface SlotObserverOptions {
  name: string;
  runtime: SlotRuntime;
  slotDirs: SlotDirs;
  clock: Clock;
  ledger: SlotLedger;
  /** Whether the factory is draining now: an exit then was asked for. */
  factoryDraining: () => boolean;
}

/** Exit codes that end a pilot cleanly (HTCondor's DAEMON_SHUTDOWN uses 99). */
const CLEAN_EXIT_CODES: ReadonlySet<number> = new Set([0, 99]);

/**
 * What is there: the engine's list of the factory's containers (one call), corrected by the `die` events the ledger
 * saw, with the running pilots' heartbeats and what the factory told them. New exits go into the ledger's backoff.
 */
export class SlotObserver {
  constructor(private readonly options: SlotObserverOptions) {}

  /** `taken`: a list asked for earlier, to use instead of asking again. */
  async observe(taken?: Promise<ListedContainer[]>): Promise<Observation> {
    const { runtime, slotDirs, ledger, name } = this.options;
    const listed = await (taken ?? runtime.list(name));
    const observed = await Promise.all(
      listed
        .filter((c) => c.state !== 'removing')
        .map(async (c): Promise<ObservedContainer> => {
          let phase: ObservedContainer['phase'] =
            c.state === 'created' ? 'created' : c.state === 'exited' || c.state === 'dead' ? 'exited' : 'running';
          if (phase === 'running' && ledger.hasDied(c.id) && !(await runtime.exitDetails(c.id))?.running)
            phase = 'exited';
          const heartbeat = phase === 'running' ? await slotDirs.heartbeat(c.slot, c.createdAt) : undefined;
          const deadline = phase === 'running' ? await slotDirs.deadline(c.slot) : undefined;
          if (heartbeat) ledger.checkDrainHeard(c.id, heartbeat);
          return {
            id: c.id,
            slot: c.slot,
            templateHash: c.templateHash,
            phase,
            createdAt: c.createdAt,
            draining: ledger.isDraining({ id: c.id, draining: heartbeat?.phase === 'draining' }),
            ...(heartbeat ? { heartbeat } : {}),
            ...(deadline === undefined ? {} : { deadline }),
          };
        }),
    );
    const exits: SlotExit[] = [];
    for (const c of observed) if (c.phase === 'exited' && ledger.firstExit(c.id)) exits.push(await this.exitOf(c));
    // Forget what the engine no longer has, so the ledger stays as small as the slot count.
    ledger.forget(new Set(listed.map((c) => c.id)));
    return { observed, exits };
  }

  /** The running pilots' heartbeats read again (files only, no Docker request): they change without any event. */
  refreshHeartbeats(observed: readonly ObservedContainer[]): Promise<ObservedContainer[]> {
    return Promise.all(
      observed.map(async (c) => {
        if (c.phase !== 'running') return c;
        const heartbeat = await this.options.slotDirs.heartbeat(c.slot, c.createdAt);
        const { heartbeat: _old, ...rest } = c;
        return {
          ...rest,
          draining: c.draining || heartbeat?.phase === 'draining',
          ...(heartbeat ? { heartbeat } : {}),
        };
      }),
    );
  }

  private async exitOf(container: ObservedContainer): Promise<SlotExit> {
    const { runtime, clock, ledger, factoryDraining } = this.options;
    const details = await runtime.exitDetails(container.id);
    const exitCode = details?.exitCode ?? -1;
    const requested = container.draining || factoryDraining();
    const next = ledger.recordExit(container.slot, {
      startedAt: details?.startedAt,
      finishedAt: details?.finishedAt ?? clock.now(),
      requested,
      clean: CLEAN_EXIT_CODES.has(exitCode),
    });
    const reason: ExitReason = requested
      ? 'drained'
      : details?.oomKilled
        ? 'oom'
        : CLEAN_EXIT_CODES.has(exitCode)
          ? 'clean'
          : 'failed';
    const retryInMs = next && next.retryAt > clock.now() ? next.retryAt - clock.now() : undefined;
    const ranForMs =
      details?.startedAt === undefined ? undefined : Math.max(0, (details.finishedAt ?? 0) - details.startedAt);
    return {
      slot: container.slot,
      id: container.id,
      exitCode,
      reason,
      ...(ranForMs === undefined ? {} : { ranForMs }),
      ...(retryInMs ? { retryInMs } : {}),
    };
  }
}
