import { type Mounter, type RootRequest, compareVersions, parseImageRef } from '@docker-cernvm/mounter';
import type { Clock } from './clock.js';

export type FollowMounter = Pick<Mounter, 'inspectPlaceholder' | 'snapshots' | 'mount'>;

export type RootFollowMounter = Pick<Mounter, 'publishedSnapshots' | 'resolveRoot'>;

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

/** Every interval, one look at the repository (a failed look is reported and the next one comes all the same). */
abstract class Follower<T> {
  private timer: unknown;
  protected stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    protected readonly onNewer: (followed: T) => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

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
  abstract check(): Promise<T | undefined>;
}

/**
 * `--follow-snapshot`: every interval, asks the mounter which snapshots the image's repository publishes; when a
 * newer one appears it is mounted as `<image name>:<snapshot>` beside the current one, and `onNewer` rolls the
 * slots to it (the rolling rule: pilots finish their jobs first). The old image stays mounted until unmounted.
 */
export class SnapshotFollower extends Follower<FollowedSnapshot> {
  private image: string;

  constructor(
    private readonly mounter: FollowMounter,
    clock: Clock,
    intervalMs: number,
    image: string,
    onNewer: (followed: FollowedSnapshot) => Promise<void>,
    onError: (error: Error) => void,
  ) {
    super(clock, intervalMs, onNewer, onError);
    this.image = image;
  }

  /** Follows on from another image: the configuration now names it. */
  rebase(image: string): void {
    this.image = image;
  }

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

export interface FollowedRoot {
  /** The configuration's choice, pinned to the newer snapshot. */
  cernvm: RootRequest & { snapshot: string };
  rootDir: string;
  version?: string;
}

/**
 * `--follow-snapshot` with `cernvm:` (podman): the same look at the repository, asking the engine nothing, and a
 * newer snapshot is resolved as a root directory (no placeholder to mount), which `onNewer` rolls the slots to.
 */
export class RootFollower extends Follower<FollowedRoot> {
  private cernvm: RootRequest;

  constructor(
    private readonly mounter: RootFollowMounter,
    clock: Clock,
    intervalMs: number,
    cernvm: RootRequest,
    onNewer: (followed: FollowedRoot) => Promise<void>,
    onError: (error: Error) => void,
  ) {
    super(clock, intervalMs, onNewer, onError);
    this.cernvm = cernvm;
  }

  /** Follows on from another choice of root: the configuration now names it. */
  rebase(cernvm: RootRequest): void {
    this.cernvm = cernvm;
  }

  async check(): Promise<FollowedRoot | undefined> {
    const available = await this.mounter.publishedSnapshots(this.cernvm.repository);
    const newer = newerSnapshot(available ?? [], this.cernvm.snapshot);
    if (!newer || this.stopped) return undefined;
    const cernvm = { ...this.cernvm, snapshot: newer };
    const { rootDir, version } = await this.mounter.resolveRoot(cernvm);
    const followed: FollowedRoot = { cernvm, rootDir, ...(version ? { version } : {}) };
    await this.onNewer(followed);
    this.cernvm = cernvm;
    return followed;
  }
}
