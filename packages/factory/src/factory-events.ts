import type { Action, DrainReason } from './reconcile.js';
import type { SlotExit } from './slot-observer.js';
import type { SlotSummary } from './slot-summary.js';

/** What a Factory tells its listeners (logs, metrics), by event name. */
export interface FactoryEvents {
  'slot-created': [{ slot: number; id: string; durationMs: number }];
  'slot-draining': [{ slot: number; id: string; reason: DrainReason; deadline?: number }];
  'slot-stopping': [{ slot: number; id: string }];
  'slot-exited': [SlotExit];
  'slot-removed': [{ slot: number; id: string; reason: string }];
  'action-failed': [{ action: Action; error: Error }];
  reconciled: [{ summary: SlotSummary; durationMs: number; actions: number }];
  /** A new summary: after each pass, and after heartbeats are read again for a scrape. */
  summary: [summary: SlotSummary];
  'events-connected': [];
  'events-disconnected': [reason: string];
  /** Draining, and the last pilot is gone. */
  drained: [];
  error: [error: Error];
}
