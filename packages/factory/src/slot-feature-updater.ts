import type { SlotDirs } from './slot-dirs.js';
import { type MachineFeatures, featureFiles, jobFeaturesOf } from './slot-features.js';
import type { SlotTemplate } from './template.js';

export interface SlotFeatureUpdaterOptions {
  slotDirs: SlotDirs;
  /** The host's features now (its shutdown time may come and go). */
  machine: () => MachineFeatures;
  /** Unix seconds slot i must be gone by, or undefined when it has no deadline. */
  deadlineOf: (slot: number) => number | undefined;
}

/** Keeps each slot's MJF files in step with its limits, the host's features and the slot's deadline. */
export class SlotFeatureUpdater {
  constructor(private readonly options: SlotFeatureUpdaterOptions) {}

  /** Writes slot i's files (nothing when they are as last written); `startedMs` is when its container started. */
  update(slot: number, template: SlotTemplate, startedMs: number): Promise<boolean> {
    const { slotDirs, machine, deadlineOf } = this.options;
    const limits = { coresPerSlot: template.coresPerSlot, memoryMb: template.memoryMb, diskMb: template.pilot.diskMb };
    return slotDirs.writeFeatures(slot, featureFiles(machine(), jobFeaturesOf(limits, startedMs, deadlineOf(slot))));
  }
}
