import { randomBytes } from 'node:crypto';
import { MounterError } from './errors.js';
import type { HostCommands } from './host-commands.js';

/** Docker keeps its images, and their snapshots, in this containerd namespace. */
export const MOBY_NAMESPACE = 'moby';

/** Where dockerd's containerd listens when `GET /info` does not say (API < 1.46), as the engine sees it. */
export const DEFAULT_CONTAINERD_SOCKETS = [
  // The containerd dockerd starts by itself, under its exec root.
  '/var/run/docker/containerd/containerd.sock',
  // A system containerd (the containerd.service that dockerd was pointed at).
  '/run/containerd/containerd.sock',
] as const;

/** Temporary views carry this prefix, so a leftover of a killed run is recognisable as ours. */
export const VIEW_KEY_PREFIX = 'docker-cernvm-view-';

export interface SnapshotLocation {
  /** containerd's socket, as a host path. */
  address: string;
  namespace: string;
  snapshotter: string;
}

interface SnapshotMount {
  Type?: string;
  Source?: string;
  Options?: string[];
}

/**
 * The directory of a committed containerd snapshot, found the way containerd itself reports it: a temporary
 * read-only view of the snapshot, whose mount names the directory (a bind of `<root>/snapshots/<n>/fs` for a
 * one-layer image; an overlay whose first lower directory is the top layer's otherwise). The view is removed
 * again whatever happens. Runs `ctr` through the host-commands adapter.
 */
export class ContainerdSnapshots {
  constructor(
    private readonly host: HostCommands,
    private readonly ctr = 'ctr',
    private readonly newKey: () => string = () => `${VIEW_KEY_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`,
    private readonly isRunning: (pid: number) => boolean = processRuns,
  ) {}

  /**
   * Removes the views a killed mounter left (its pid is in the key and runs no more). A leftover view is harmless
   * but pins its snapshot: containerd could not reclaim a removed placeholder's layer. Returns the keys removed.
   */
  async removeStaleViews(location: SnapshotLocation): Promise<string[]> {
    const snapshots = snapshotsArgs(location);
    const listing = await this.host.output(this.ctr, [...snapshots, 'ls']).catch((error: unknown) => {
      throw this.explain(error, location, '(listing)');
    });
    const stale = listing
      .split('\n')
      .map((line) => line.split(/\s+/)[0] ?? '')
      .filter((key) => {
        const pid = new RegExp(`^${VIEW_KEY_PREFIX}(\\d+)-[0-9a-f]+$`).exec(key)?.[1];
        return pid !== undefined && !this.isRunning(Number(pid));
      });
    for (const key of stale) await this.host.run(this.ctr, [...snapshots, 'rm', key]);
    return stale;
  }

  /** The snapshot's directory as containerd reports it (a path in the engine's file system). */
  async directoryOf(location: SnapshotLocation, chainId: string): Promise<string> {
    const key = this.newKey();
    const snapshots = snapshotsArgs(location);
    let output: string;
    try {
      output = await this.host.output(this.ctr, [...snapshots, 'view', '--mounts', key, chainId]);
    } catch (error) {
      // ctr can fail after containerd made the view (killed by its timeout, say): take it back if it is there.
      await this.host.run(this.ctr, [...snapshots, 'rm', key]).catch(() => undefined);
      const disconnected = disconnectedDirectoryOf(error);
      if (disconnected) return disconnected;
      throw this.explain(error, location, chainId);
    }
    try {
      return directoryOfMounts(output, chainId);
    } finally {
      // The view holds nothing but a name; it must not outlive this call, even when its output made no sense.
      await this.host.run(this.ctr, [...snapshots, 'rm', key]).catch(() => undefined);
    }
  }

  private explain(error: unknown, location: SnapshotLocation, chainId: string): MounterError {
    const cause = error instanceof MounterError ? error.cause : undefined;
    if ((cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      return new MounterError(
        'E_NO_CONTAINERD',
        `${this.ctr} (containerd's client) is not installed here, and the containerd image store is reached through it: ` +
          `install containerd (Debian: apt-get install containerd) or pass --ctr with the path of a ctr binary`,
        { cause: error },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    if (/not found/i.test(message)) {
      return new MounterError(
        'E_LAYER_MISMATCH',
        `containerd at ${location.address} has no snapshot ${chainId} in namespace ${location.namespace} ` +
          `(snapshotter ${location.snapshotter}): is that the engine's own containerd? (--containerd-socket)`,
        { cause: error },
      );
    }
    if (/connect|no such file|permission denied|deadline/i.test(message)) {
      return new MounterError(
        'E_NO_CONTAINERD',
        `containerd does not answer at ${location.address}: ${message}; pass --containerd-socket with the socket ` +
          `dockerd uses (its "containerd" setting), or --engine-root when dockerd runs in a chroot`,
        { cause: error },
      );
    }
    return new MounterError('E_COMMAND_FAILED', message, { cause: error });
  }
}

/** `ctr` arguments up to a `snapshots` subcommand, for this containerd, namespace and snapshotter. */
function snapshotsArgs(location: SnapshotLocation): string[] {
  return ['-a', location.address, '-n', location.namespace, 'snapshots', '--snapshotter', location.snapshotter];
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * containerd stats a snapshot's directory before it makes a view of it. Over a bound root whose FUSE client has
 * died that stat fails, and containerd's error names the very directory asked for: the one to report and unbind.
 */
function disconnectedDirectoryOf(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  return /failed to stat parent: stat (\/\S+): transport endpoint is not connected/.exec(message)?.[1];
}

/** The top layer's directory from `ctr snapshots view --mounts` output (JSON, one or more mounts). */
export function directoryOfMounts(output: string, chainId: string): string {
  let mounts: SnapshotMount[];
  try {
    mounts = JSON.parse(output) as SnapshotMount[];
  } catch (cause) {
    throw new MounterError(
      'E_LAYER_MISMATCH',
      `unexpected output from ctr for snapshot ${chainId}: ${output.slice(0, 200)}`,
      {
        cause,
      },
    );
  }
  const [mount] = Array.isArray(mounts) ? mounts : [];
  if (mount?.Type === 'bind' && mount.Source) return mount.Source;
  if (mount?.Type === 'overlay') {
    const lower = mount.Options?.find((option) => option.startsWith('lowerdir='));
    const top = lower?.slice('lowerdir='.length).split(':')[0];
    if (top) return top;
  }
  throw new MounterError(
    'E_LAYER_MISMATCH',
    `containerd shows snapshot ${chainId} as ${JSON.stringify(mounts)}, not as a directory docker-cernvm can bind over`,
  );
}
