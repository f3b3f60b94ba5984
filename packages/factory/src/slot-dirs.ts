import path from 'node:path';
import { HEARTBEAT_FILE, type Heartbeat, type RenderedFile, readHeartbeat, writePilotDir } from '@docker-cernvm/pilot';

/** Each slot's host directory (mounted at /pilot): rendered configuration, the token's mount point, the heartbeat. */
export class SlotDirs {
  constructor(readonly root: string) {}

  dirOf(slot: number): string {
    return path.join(this.root, `slot-${slot}`);
  }

  async prepare(slot: number, files: readonly RenderedFile[]): Promise<string> {
    const dir = this.dirOf(slot);
    await writePilotDir(dir, files);
    return dir;
  }

  /** The slot's heartbeat, if it was written by a container started at or after `notBefore` (unix ms). */
  async heartbeat(slot: number, notBefore: number): Promise<Heartbeat | undefined> {
    const heartbeat = await readHeartbeat(path.join(this.dirOf(slot), HEARTBEAT_FILE));
    // The directory outlives containers: a heartbeat from the slot's previous pilot says nothing about this one.
    return heartbeat && heartbeat.startedEpoch * 1000 >= notBefore - 1000 ? heartbeat : undefined;
  }
}
