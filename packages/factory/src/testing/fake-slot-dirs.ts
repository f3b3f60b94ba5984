import type { Heartbeat, RenderedFile } from '@docker-cernvm/pilot';
import type { SlotDirs } from '../slot-dirs.js';
import type { FeatureFiles } from '../slot-features.js';

/** Slot directories in memory: what each slot was given, and the heartbeat a test says its pilot wrote. */
export class FakeSlotDirs implements SlotDirs {
  readonly root = '/state/f';
  readonly scratchRoot = '/scratch-root/f';
  readonly tokenDir = '/state/f/tokens.d';
  /** Slots whose scratch was emptied, in order. */
  readonly emptied: number[] = [];
  /** Each emptying takes the next error, if any, and fails with it. */
  readonly emptyFailures: Error[] = [];
  /** The pilot files each slot was last given. */
  readonly pilotFiles = new Map<number, readonly RenderedFile[]>();
  readonly heartbeats = new Map<number, Heartbeat>();
  /** The MJF files each slot was last given, and how many writes changed them. */
  readonly features = new Map<number, FeatureFiles>();
  featureWrites = 0;
  /** Each slot's deadline (Unix ms), as the factory wrote it or a test put it there. */
  readonly deadlines = new Map<number, number>();

  dirOf(slot: number): string {
    return `${this.root}/slot-${slot}`;
  }

  async writePilotFiles(slot: number, files: readonly RenderedFile[]): Promise<string> {
    this.pilotFiles.set(slot, files);
    return this.dirOf(slot);
  }

  scratchOf(slot: number): string {
    return `${this.scratchRoot}/slot-${slot}`;
  }

  async emptyScratch(slot: number): Promise<string> {
    const failure = this.emptyFailures.shift();
    if (failure) throw failure;
    this.emptied.push(slot);
    return this.scratchOf(slot);
  }

  featuresOf(slot: number): string {
    return `${this.root}/features/slot-${slot}`;
  }

  async writeFeatures(slot: number, files: FeatureFiles): Promise<boolean> {
    if (JSON.stringify(this.features.get(slot)) === JSON.stringify(files)) return false;
    this.features.set(slot, files);
    this.featureWrites += 1;
    return true;
  }

  async writeDeadline(slot: number, deadline: number | undefined): Promise<void> {
    if (deadline === undefined) this.deadlines.delete(slot);
    else this.deadlines.set(slot, Math.round(deadline / 1000) * 1000);
  }

  async deadline(slot: number): Promise<number | undefined> {
    return this.deadlines.get(slot);
  }

  async heartbeat(slot: number): Promise<Heartbeat | undefined> {
    return this.heartbeats.get(slot);
  }
}
