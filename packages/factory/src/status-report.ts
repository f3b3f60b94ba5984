import os from 'node:os';
import type { Factory } from './factory.js';
import { type SlotStatus, type SlotSummaryJson, summaryJson } from './slot-summary.js';
import { FACTORY_VERSION } from './version.js';

/**
 * What `status --json` and `GET /status` answer: a stable format (docs/status-format.md) that fleet tools read, so
 * keys are only ever added; renaming or removing one breaks the public interface.
 */
export interface FactoryStatus {
  /** The machine's host name, so answers gathered from many hosts say whose they are. */
  host: string;
  name: string;
  version: string;
  draining: boolean;
  /** Absent until the first reconcile pass has counted the slots. */
  summary?: SlotSummaryJson;
  template: { image: string; cernvmVersion?: string; hash: string; coresPerSlot: number };
  slots: SlotStatus[];
}

export type StatusSource = Pick<Factory, 'desiredState' | 'currentTemplate' | 'summary' | 'slots'>;

export function statusReport(factory: StatusSource, name: string, host: string = os.hostname()): FactoryStatus {
  const summary = summaryJson(factory.summary());
  const template = factory.currentTemplate;
  return {
    host,
    name,
    version: FACTORY_VERSION,
    draining: factory.desiredState.draining,
    ...(summary ? { summary } : {}),
    template: {
      image: template.image,
      ...(template.cernvmVersion ? { cernvmVersion: template.cernvmVersion } : {}),
      hash: factory.desiredState.templateHash,
      coresPerSlot: template.coresPerSlot,
    },
    slots: factory.slots(),
  };
}
