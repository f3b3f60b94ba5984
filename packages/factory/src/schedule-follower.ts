import type { Clock } from './clock.js';
import { type Schedule, type ScheduleDecision, decide, nextBoundary } from './schedule.js';

/** What the follower acts on; the daemon wires it to the Factory. `deadline`: when the victims must be gone (epoch ms). */
export interface SlotCountTarget {
  setSlots(count: number, deadline?: number): void;
}

export interface ScheduleFollowerOptions {
  clock: Clock;
  schedule: Schedule;
  leadMs: number;
  target: SlotCountTarget;
  /** Told each count it sets. */
  onApply?: (decision: ScheduleDecision) => void;
}

/** A wake-up at most this far off: a clock set by hand or a suspended host is noticed within it. */
const MAX_WAIT_MS = 60 * 60_000;

/**
 * Sets the slot count the schedule wants, at each boundary and ahead of one that lowers it. A count set by hand
 * (`scale`, `resume`) holds until the next boundary; then the schedule applies again.
 */
export class ScheduleFollower {
  private applied: { slots: number; deadline?: number } | undefined;
  private overrideUntil: number | undefined;
  private timer: unknown;
  private stopped = false;

  constructor(private options: ScheduleFollowerOptions) {}

  /** The count for now, which the factory starts with; the first tick sets only what differs (a deadline). */
  initialSlots(): number {
    const slots = decide(this.options.schedule, this.options.clock.now(), this.options.leadMs).slots;
    this.applied = { slots };
    return slots;
  }

  start(): void {
    this.tick();
  }

  /** A count or a drain set by hand: the schedule leaves it alone until its next boundary. */
  overrideByHand(): void {
    const now = this.options.clock.now();
    this.overrideUntil = nextBoundary(this.options.schedule, now) ?? Number.POSITIVE_INFINITY;
    this.tick();
  }

  /** A reloaded configuration: its schedule applies at once, over any count set by hand. */
  replace(schedule: Schedule, leadMs: number): void {
    this.options = { ...this.options, schedule, leadMs };
    this.applied = undefined;
    this.overrideUntil = undefined;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const { clock, schedule, leadMs, target } = this.options;
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const now = clock.now();
    let wakeAt: number | undefined;
    if (this.overrideUntil !== undefined && now < this.overrideUntil) {
      wakeAt = this.overrideUntil;
    } else {
      // The count by hand is what the factory holds now: the schedule's must be set again, even if unchanged.
      if (this.overrideUntil !== undefined) this.applied = undefined;
      this.overrideUntil = undefined;
      const decision = decide(schedule, now, leadMs);
      if (decision.slots !== this.applied?.slots || decision.deadline !== this.applied.deadline) {
        this.applied = {
          slots: decision.slots,
          ...(decision.deadline === undefined ? {} : { deadline: decision.deadline }),
        };
        target.setSlots(decision.slots, decision.deadline);
        this.options.onApply?.(decision);
      }
      wakeAt = decision.wakeAt;
    }
    const wait = wakeAt === undefined ? MAX_WAIT_MS : Math.min(Math.max(0, wakeAt - now), MAX_WAIT_MS);
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, wait);
  }
}
