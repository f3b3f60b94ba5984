import path from 'node:path';
import {
  HEARTBEAT_FILE,
  type Heartbeat,
  type RenderedFile,
  emptyScratchDir,
  readHeartbeat,
  scratchDirOf,
  writePilotDir,
} from '@docker-cernvm/pilot';
import { FeaturesDirWriter } from './features-dir.js';
import type { FeatureFiles } from './slot-features.js';

/**
 * Each slot's host directories: `<root>/slot-<i>` (mounted at /pilot: rendered configuration, the token's mount
 * point, the heartbeat), `<scratchRoot>/slot-<i>` (HTCondor's EXECUTE: the jobs' sandboxes) and
 * `<root>/features/slot-<i>` (the MJF directories `machine/` and `job/`, bound read-only apart from /pilot).
 */
export interface SlotDirs {
  readonly root: string;
  readonly scratchRoot: string;
  /** `<root>/tokens.d`: the factory's copy of the pool token, bound read-only into every slot. */
  readonly tokenDir: string;
  dirOf(slot: number): string;
  scratchOf(slot: number): string;
  /** Empties slot i's scratch directory (making it when missing) and returns it. */
  emptyScratch(slot: number): Promise<string>;
  /** Writes the rendered pilot files into slot i's directory and returns it. */
  writePilotFiles(slot: number, files: readonly RenderedFile[]): Promise<string>;
  /** The slot's heartbeat, if it was written by a container started at or after `notBefore` (unix ms). */
  heartbeat(slot: number, notBefore: number): Promise<Heartbeat | undefined>;
  /** Slot i's MJF directory on the host, holding `machine/` and `job/`. */
  featuresOf(slot: number): string;
  /** Writes slot i's MJF files; resolves true when something changed on disk. */
  writeFeatures(slot: number, files: FeatureFiles): Promise<boolean>;
}

/** The slot directories on this host's file system. */
export class HostSlotDirs implements SlotDirs {
  /** Scratch work per slot, one after another: a slot's scratch is never emptied twice at once. */
  private readonly scratchWork = new Map<number, Promise<unknown>>();
  private readonly features = new FeaturesDirWriter();
  readonly tokenDir: string;

  constructor(
    readonly root: string,
    readonly scratchRoot: string,
  ) {
    this.tokenDir = path.join(root, 'tokens.d');
  }

  scratchOf(slot: number): string {
    return scratchDirOf(this.scratchRoot, `slot-${slot}`);
  }

  /**
   * Empties slot i's scratch directory (making it when missing) and returns it. Only that one directory, right under
   * the scratch root, is touched; symlinks in it are removed, never followed.
   */
  emptyScratch(slot: number): Promise<string> {
    const work = this.scratchWork;
    const next = (work.get(slot) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => emptyScratchDir(this.scratchRoot, `slot-${slot}`));
    work.set(slot, next);
    void next
      .finally(() => {
        if (work.get(slot) === next) work.delete(slot);
      })
      .catch(() => undefined);
    return next;
  }

  dirOf(slot: number): string {
    return path.join(this.root, `slot-${slot}`);
  }

  async writePilotFiles(slot: number, files: readonly RenderedFile[]): Promise<string> {
    const dir = this.dirOf(slot);
    writePilotDir(dir, files);
    return dir;
  }

  featuresOf(slot: number): string {
    return path.join(this.root, 'features', `slot-${slot}`);
  }

  async writeFeatures(slot: number, files: FeatureFiles): Promise<boolean> {
    return this.features.write(this.featuresOf(slot), files);
  }

  async heartbeat(slot: number, notBefore: number): Promise<Heartbeat | undefined> {
    const heartbeat = readHeartbeat(path.join(this.dirOf(slot), HEARTBEAT_FILE));
    // The directory outlives containers: a heartbeat from the slot's previous pilot says nothing about this one.
    return heartbeat && heartbeat.startedEpoch * 1000 >= notBefore - 1000 ? heartbeat : undefined;
  }
}
