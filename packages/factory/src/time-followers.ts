import path from 'node:path';
import type { Clock } from './clock.js';
import type { FactoryConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Schedule } from './schedule.js';
import { ScheduleFollower, type SlotCountTarget } from './schedule-follower.js';
import { type DrainTarget, ShutdownDrain } from './shutdown-drain.js';
import { ShutdownTimeWatcher, shutdownTimeFileReader } from './shutdown-time-watcher.js';

/** How often the shutdown time file is read: a change is followed within this. */
export const SHUTDOWN_TIME_POLL_MS = 5_000;

const isoOf = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/** The configured schedule with `slots` as its default, in its zone or the host's. */
export function scheduleOf(config: FactoryConfig): { schedule: Schedule; leadMs: number } | undefined {
  if (!config.schedule) return undefined;
  const { windows, timeZone, leadSeconds } = config.schedule;
  return { schedule: { windows, defaultSlots: config.slots, zone: timeZone ?? 'local' }, leadMs: leadSeconds * 1000 };
}

/** The configured shutdown time file, else `shutdowntime` in the directory $MACHINEFEATURES names, else none. */
export function shutdownTimeFileOf(
  config: FactoryConfig,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (config.shutdownTimeFile) return config.shutdownTimeFile;
  const dir = env.MACHINEFEATURES;
  return dir && path.isAbsolute(dir) ? path.join(dir, 'shutdowntime') : undefined;
}

export interface TimeFollowersOptions {
  config: FactoryConfig;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  logger: Logger;
  target: SlotCountTarget & DrainTarget;
}

/**
 * Time as an input of the factory: the schedule's slot counts and the host's announced shutdown. The daemon asks
 * for the count to start with, starts them once the factory runs, and tells them what an operator did by hand.
 */
export class TimeFollowers {
  private schedule: ScheduleFollower | undefined;
  private readonly shutdown: ShutdownDrain;
  private readonly watcher: ShutdownTimeWatcher | undefined;
  private readonly shutdownFile: string | undefined;
  private announcedShutdown: number | undefined;

  constructor(private readonly options: TimeFollowersOptions) {
    const { config, env, clock, logger, target } = options;
    this.schedule = this.followerOf(config);
    this.shutdown = new ShutdownDrain({
      setDraining: (draining, deadline) => {
        logger.log(
          'info',
          draining ? 'shutdown-time-draining' : 'shutdown-time-withdrawn',
          draining ? { deadline: isoOf(deadline) } : {},
        );
        target.setDraining(draining, deadline);
      },
    });
    this.shutdownFile = shutdownTimeFileOf(config, env);
    this.watcher = this.shutdownFile
      ? new ShutdownTimeWatcher({
          clock,
          read: shutdownTimeFileReader(this.shutdownFile),
          pollMs: SHUTDOWN_TIME_POLL_MS,
          onChange: (at) => {
            this.announcedShutdown = at;
            this.shutdown.follow(at);
          },
          onWarning: (message) => logger.log('warn', 'shutdown-time-unusable', { file: this.shutdownFile, message }),
        })
      : undefined;
  }

  /** The count the factory starts with: the schedule's for now, else the configured one. */
  initialSlots(): number {
    return this.schedule?.initialSlots() ?? this.options.config.slots;
  }

  /** Once the factory runs: the first look at the shutdown time is done when this resolves. */
  async start(): Promise<void> {
    this.schedule?.start();
    await this.watcher?.start();
  }

  /** The host's announced shutdown (Unix ms), as the file said at the last look; a drain by hand does not change it. */
  shutdownAt(): number | undefined {
    return this.announcedShutdown;
  }

  /** `scale` by hand: holds until the schedule's next boundary. */
  scaledByHand(): void {
    this.schedule?.overrideByHand();
  }

  /** `drain` by hand: a withdrawn shutdown time does not undo it. */
  drainedByHand(): void {
    this.shutdown.overrideByHand();
  }

  /** `resume` by hand: holds over the schedule until its next boundary, and over an announced shutdown. */
  resumedByHand(): void {
    this.schedule?.overrideByHand();
    this.shutdown.overrideByHand();
  }

  /** A reloaded configuration's schedule applies at once; the shutdown time file stays the one started with. */
  reloaded(next: FactoryConfig): void {
    const followed = scheduleOf(next);
    if (followed && this.schedule) this.schedule.replace(followed.schedule, followed.leadMs);
    else {
      this.schedule?.stop();
      this.schedule = this.followerOf(next);
      this.schedule?.start();
    }
    if (shutdownTimeFileOf(next, this.options.env) !== this.shutdownFile)
      this.options.logger.log('warn', 'reload-ignored', {
        key: 'shutdownTimeFile',
        reason: 'takes effect at the next start',
      });
  }

  stop(): void {
    this.schedule?.stop();
    this.watcher?.stop();
  }

  private followerOf(config: FactoryConfig): ScheduleFollower | undefined {
    const followed = scheduleOf(config);
    if (!followed) return undefined;
    const { clock, logger, target } = this.options;
    return new ScheduleFollower({
      clock,
      ...followed,
      target,
      onApply: (decision) =>
        logger.log('info', 'schedule-applied', {
          slots: decision.slots,
          deadline: isoOf(decision.deadline),
          next: isoOf(decision.boundary),
        }),
    });
  }
}
