import type { EventEmitter } from 'eventemitter3';
import type { FactoryEvents } from './factory-events.js';
import { EXIT_REASONS, type ExitReason, type SlotExit, isProblemExit } from './slot-observer.js';

/** How the slots' containers have exited since the factory started, as `status` shows it. */
export interface ExitsStatus {
  drained: number;
  clean: number;
  failed: number;
  oom: number;
  /** The latest exit that was not a drain: which slot, why, its code and when (ISO 8601). */
  lastProblem?: { slot: number; reason: ExitReason; exitCode: number; at: string };
}

/** Counts slot exits by reason from the factory's events, so `status` says why slots ended (an `oom` among them). */
export class ExitTally {
  private readonly counts = Object.fromEntries(EXIT_REASONS.map((reason) => [reason, 0])) as Record<ExitReason, number>;
  private lastProblem: ExitsStatus['lastProblem'];

  constructor(
    events: EventEmitter<FactoryEvents>,
    private readonly now: () => number = Date.now,
  ) {
    events.on('slot-exited', (exit) => this.record(exit));
  }

  private record({ slot, reason, exitCode }: SlotExit): void {
    this.counts[reason] += 1;
    if (isProblemExit(reason)) {
      this.lastProblem = { slot, reason, exitCode, at: new Date(this.now()).toISOString() };
    }
  }

  status(): ExitsStatus {
    return { ...this.counts, ...(this.lastProblem ? { lastProblem: { ...this.lastProblem } } : {}) };
  }
}
