import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from '../errors.js';

/**
 * containerd as `ctr` shows it: committed snapshots by chain id, each a directory `snapshots/<n>/fs` under
 * `<root>/io.containerd.snapshotter.v1.overlayfs`, and the temporary views made of them. `root` is a path in the
 * engine's file system; `hostRoot` is where that file system is on this host (the test's temporary directory).
 */
export class FakeContainerd {
  readonly calls: string[] = [];
  readonly snapshots = new Map<string, string>();
  readonly views = new Set<string>();
  /** What `view --mounts` prints instead of the real answer, to test odd output. */
  viewOutput: ((source: string) => string) | undefined;
  /** Set: `view` makes the view, then fails (ctr killed by its timeout after containerd answered, say). */
  failAfterView: string | undefined;
  /** Chain ids whose directory is a bound root whose FUSE client died: containerd's stat of it fails. */
  readonly disconnected = new Set<string>();
  private next = 1;

  constructor(
    readonly address: string,
    readonly hostRoot: string,
    readonly root = '/var/lib/docker/containerd/daemon',
    readonly namespace = 'moby',
  ) {}

  /** The snapshot a build commits for a one-layer image; the same layer twice is one snapshot. */
  async commit(chainId: string): Promise<string> {
    const existing = this.snapshots.get(chainId);
    if (existing) return existing;
    const dir = path.join(this.root, 'io.containerd.snapshotter.v1.overlayfs', 'snapshots', String(this.next++), 'fs');
    await mkdir(path.join(this.hostRoot, dir), { recursive: true });
    this.snapshots.set(chainId, dir);
    return dir;
  }

  /** Answers `ctr -a ADDRESS -n NAMESPACE snapshots --snapshotter overlayfs (view --mounts KEY PARENT | rm KEY)`. */
  handle(args: readonly string[]): string {
    this.calls.push(args.join(' '));
    const [a, address, n, namespace, snapshots, flag, snapshotter, verb, ...rest] = args;
    if (a !== '-a' || n !== '-n' || snapshots !== 'snapshots' || flag !== '--snapshotter') {
      throw new Error(`fake ctr: unexpected arguments ${args.join(' ')}`);
    }
    if (address !== this.address) {
      throw new MounterError(
        'E_COMMAND_FAILED',
        `ctr failed: connection error: dial unix ${address}: connect: no such file or directory`,
      );
    }
    if (snapshotter !== 'overlayfs')
      throw new MounterError('E_COMMAND_FAILED', `ctr failed: snapshotter not loaded: ${snapshotter}`);
    const known = namespace === this.namespace ? this.snapshots : new Map<string, string>();
    if (verb === 'view' && rest[0] === '--mounts' && rest[1] && rest[2]) {
      const [, key, parent] = rest;
      const source = known.get(parent);
      if (!source)
        throw new MounterError('E_COMMAND_FAILED', `ctr failed: parent snapshot ${parent} does not exist: not found`);
      if (this.disconnected.has(parent)) {
        throw new MounterError(
          'E_COMMAND_FAILED',
          `ctr failed: ctr: failed to stat parent: stat ${source}: transport endpoint is not connected: unknown`,
        );
      }
      if (this.views.has(key))
        throw new MounterError('E_COMMAND_FAILED', `ctr failed: snapshot ${key}: already exists`);
      this.views.add(key);
      if (this.failAfterView) throw new MounterError('E_COMMAND_FAILED', this.failAfterView);
      if (this.viewOutput) return this.viewOutput(source);
      return `${JSON.stringify([{ Type: 'bind', Source: source, Options: ['ro', 'rbind'] }], null, 4)}\n`;
    }
    if (verb === 'ls') {
      const rows = [...known.keys()].map((key) => `${key}\t\tCommitted`);
      const views = [...this.views].map((key) => `${key}\t${[...known.keys()][0] ?? ''}\tView`);
      return `KEY\tPARENT\tKIND\n${[...rows, ...views].join('\n')}\n`;
    }
    if (verb === 'rm' && rest[0]) {
      if (!this.views.delete(rest[0]))
        throw new MounterError('E_COMMAND_FAILED', `ctr failed: snapshot ${rest[0]}: not found`);
      return '';
    }
    throw new Error(`fake ctr: unexpected command ${args.join(' ')}`);
  }
}
