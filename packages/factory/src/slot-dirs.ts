import path from 'node:path';
import { HEARTBEAT_FILE, type Heartbeat, type RenderedFile, emptyScratchDir, readHeartbeat, scratchDirOf, writePilotDir } from '@docker-cernvm/pilot';

/** Scratch work per slot, one after another: a slot's scratch is never emptied twice at once (kept outside the class so
 * fakes stay structurally compatible). */
const scratchWork = new WeakMap<SlotDirs, Map<number, Promise<unknown>>>();

/**
 * Each slot's host directories: `<root>/slot-<i>` (mounted at /pilot: rendered configuration, the token's mount
 * point, the heartbeat) and `<scratchRoot>/slot-<i>` (HTCondor's EXECUTE: the jobs' sandboxes).
 */
export class SlotDirs {
  constructor(
    readonly root: string,
    readonly scratchRoot: string,
  ) {}

  scratchOf(slot: number): string {
    return scratchDirOf(this.scratchRoot, `slot-${slot}`);
  }

  /**
   * Empties slot i's scratch directory (making it when missing) and returns it. Only that one directory, right under
   * the scratch root, is touched; symlinks in it are removed, never followed.
   */
  emptyScratch(slot: number): Promise<string> {
    let work = scratchWork.get(this);
    if (!work) scratchWork.set(this, (work = new Map()));
    const queue = work;
    const next = (queue.get(slot) ?? Promise.resolve()).catch(() => undefined).then(() => emptyScratchDir(this.scratchRoot, `slot-${slot}`));
    queue.set(slot, next);
    void next
      .finally(() => {
        if (queue.get(slot) === next) queue.delete(slot);
      })
      .catch(() => undefined);
    return next;
  }

  dirOf(slot: number): string {
    return path.join(this.root, `slot-${slot}`);
  }

  async prepare(slot: number, files: readonly RenderedFile[]): Promise<string> {
    const dir = this.dirOf(slot);
    writePilotDir(dir, files);
    return dir;
  }

  /** The slot's heartbeat, if it was written by a container started at or after `notBefore` (unix ms). */
  async heartbeat(slot: number, notBefore: number): Promise<Heartbeat | undefined> {
    const heartbeat = readHeartbeat(path.join(this.dirOf(slot), HEARTBEAT_FILE));
    // The directory outlives containers: a heartbeat from the slot's previous pilot says nothing about this one.
    return heartbeat && heartbeat.startedEpoch * 1000 >= notBefore - 1000 ? heartbeat : undefined;
  }
}
