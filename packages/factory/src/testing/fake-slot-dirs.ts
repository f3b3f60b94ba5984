import type { Heartbeat, RenderedFile } from '@docker-cernvm/pilot';
import type { SlotDirs } from '../slot-dirs.js';

/** Slot directories in memory: what each slot was given, and the heartbeat a test says its pilot wrote. */
export class FakeSlotDirs implements Pick<SlotDirs, 'root' | 'dirOf' | 'prepare' | 'heartbeat'> {
  readonly root = '/state/f';
  readonly prepared = new Map<number, readonly RenderedFile[]>();
  readonly heartbeats = new Map<number, Heartbeat>();

  dirOf(slot: number): string {
    return `${this.root}/slot-${slot}`;
  }

  async prepare(slot: number, files: readonly RenderedFile[]): Promise<string> {
    this.prepared.set(slot, files);
    return this.dirOf(slot);
  }

  async heartbeat(slot: number): Promise<Heartbeat | undefined> {
    return this.heartbeats.get(slot);
  }
}
