import { type Mounter, compareVersions, parseImageRef } from '@docker-cernvm/mounter';
import type { Clock } from './clock.js';

export type FollowMounter = Pick<Mounter, 'inspectPlaceholder' | 'snapshots' | 'mount'>;

export interface FollowedSnapshot {
  image: string;
  snapshot: string;
  /** The CernVM version found in the new root. */
  version?: string;
}

/** The snapshot the repository publishes last (newest by version order), if it is newer than `current`. */
export function newerSnapshot(available: readonly string[], current: string | undefined): string | undefined {
  const newest = [...available].sort(compareVersions).at(-1);
  if (!newest) return undefined;
  return current === undefined || compareVersions(newest, current) > 0 ? newest : undefined;
}

/**
 * `--follow-snapshot`: every interval, asks the mounter which snapshots the image's repository publishes; when a
 * newer one appears it is mounted as `<image name>:<snapshot>` beside the current one, and `onNewer` rolls the
 * slots to it (the rolling rule: pilots finish their jobs first). The old image stays mounted until unmounted.
 */
export class SnapshotFollower {
  private timer: unknown;
  private stopped = false;
  private image: string;

  constructor(
    private readonly mounter: FollowMounter,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    image: string,
    private readonly onNewer: (followed: FollowedSnapshot) => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {
    this.image = image;
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.check()
        .catch((error: Error) => this.onError(error))
        .finally(() => this.schedule(this.intervalMs));
    }, delayMs);
  }

  /** One look at the repository; resolves with what it rolled to, if anything. */
  async check(): Promise<FollowedSnapshot | undefined> {
    const placeholder = await this.mounter.inspectPlaceholder(this.image);
    if (!placeholder)
      throw new Error(`${this.image} is not a docker-cernvm placeholder: there is no snapshot to follow`);
    const report = await this.mounter.snapshots(placeholder.pair.repository);
    const newer = newerSnapshot(report.available ?? [], placeholder.pair.snapshot);
    if (!newer || this.stopped) return undefined;
    const tag = `${parseImageRef(this.image).name}:${newer}`;
    const mounted = await this.mounter.mount({ tag, repository: placeholder.pair.repository, snapshot: newer });
    const followed: FollowedSnapshot = {
      image: tag,
      snapshot: newer,
      ...(mounted.version ? { version: mounted.version } : {}),
    };
    await this.onNewer(followed);
    this.image = tag;
    return followed;
  }
}
