import type { Clock } from './clock.js';

export interface WakeSchedulerOptions {
  clock: Clock;
  /** One pass of the loop; a pass that throws is reported through `onError`, and the loop goes on. */
  pass: () => Promise<void>;
  onError: (error: Error) => void;
  /** Requests arriving within this long are handled in one pass. */
  debounceMs: number;
  resyncMs: number;
}

/** A slot in backoff is started by the first pass after its wait: this much after it, not at the same millisecond. */
const RETRY_SLACK_MS = 5;

/**
 * When the loop runs: a debounce after it is asked to, at each resync, and when the first slot's backoff ends. One
 * pass at a time: requests that arrive while a pass runs are folded into one more pass.
 */
export class WakeScheduler {
  private passRunning = false;
  private passAgain = false;
  private wakeTimer: unknown;
  private wakeDue = 0;
  private resyncTimer: unknown;
  private retryTimer: unknown;
  private closed = false;

  constructor(private readonly options: WakeSchedulerOptions) {}

  /** Wakes the loop within `delayMs`; a request due sooner than the one waiting moves the wake-up earlier. */
  request(delayMs = this.options.debounceMs): void {
    if (this.closed) return;
    const { clock } = this.options;
    const due = clock.now() + delayMs;
    if (this.wakeTimer !== undefined) {
      if (due >= this.wakeDue) return;
      clock.clearTimeout(this.wakeTimer);
    }
    this.wakeDue = due;
    this.wakeTimer = clock.setTimeout(() => {
      this.wakeTimer = undefined;
      void this.runPasses();
    }, delayMs);
  }

  /** Wakes the loop every `resyncMs` from now on, whatever else happens: the level-triggered safety net. */
  startResync(): void {
    if (this.closed) return;
    this.resyncTimer = this.options.clock.setTimeout(() => {
      this.request(0);
      this.startResync();
    }, this.options.resyncMs);
  }

  /** A slot in backoff needs a pass when its wait ends, not at the next resync: wakes at the first of `retryAt` after `now`. */
  wakeAtNextRetry(retryAt: Iterable<number>, now: number): void {
    const { clock } = this.options;
    if (this.retryTimer !== undefined) clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const next = Math.min(...[...retryAt].filter((t) => t > now));
    if (Number.isFinite(next) && !this.closed) {
      this.retryTimer = clock.setTimeout(
        () => {
          this.retryTimer = undefined;
          this.request(0);
        },
        next - now + RETRY_SLACK_MS,
      );
    }
  }

  /** No more passes are started and no timer is left to keep the process up; a pass under way finishes. */
  close(): void {
    this.closed = true;
    const { clock } = this.options;
    for (const timer of [this.wakeTimer, this.resyncTimer, this.retryTimer])
      if (timer !== undefined) clock.clearTimeout(timer);
    this.wakeTimer = this.resyncTimer = this.retryTimer = undefined;
  }

  private async runPasses(): Promise<void> {
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    this.passRunning = true;
    try {
      do {
        this.passAgain = false;
        await this.options.pass().catch(this.options.onError);
      } while (this.passAgain && !this.closed);
    } finally {
      this.passRunning = false;
    }
  }
}
