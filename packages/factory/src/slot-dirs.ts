import path from 'node:path';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import {
  DEADLINE_FILE,
  HEARTBEAT_FILE,
  type Heartbeat,
  type RenderedFile,
  emptyScratchDir,
  readDeadlineFile,
  readHeartbeat,
  renderDeadlineFile,
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
  /** Gives the slot's pilot a deadline (Unix ms; rounded to the second), or takes it away. */
  writeDeadline(slot: number, deadline: number | undefined): Promise<void>;
  /** The slot's deadline (Unix ms), kept in its directory so a restarted factory and the pilot both know it. */
  deadline(slot: number): Promise<number | undefined>;
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

  async writeDeadline(slot: number, deadline: number | undefined): Promise<void> {
    const file = path.join(this.dirOf(slot), DEADLINE_FILE);
    if (deadline === undefined) return rmSync(file, { force: true });
    // Written whole in one call: the pilot reads one line, and a short write would only delay it to the next tick.
    const temporary = `${file}.tmp-${process.pid}`;
    writeFileSync(temporary, renderDeadlineFile(Math.round(deadline / 1000)), { mode: 0o644 });
    renameSync(temporary, file);
  }

  async deadline(slot: number): Promise<number | undefined> {
    const seconds = readDeadlineFile(path.join(this.dirOf(slot), DEADLINE_FILE));
    return seconds === undefined ? undefined : seconds * 1000;
  }

  async heartbeat(slot: number, notBefore: number): Promise<Heartbeat | undefined> {
    const heartbeat = readHeartbeat(path.join(this.dirOf(slot), HEARTBEAT_FILE));
    // The directory outlives containers: a heartbeat from the slot's previous pilot says nothing about this one.
    return heartbeat && heartbeat.startedEpoch * 1000 >= notBefore - 1000 ? heartbeat : undefined;
  }
}
