import os from 'node:os';
import type { ExitsStatus } from './exit-tally.js';
import type { Factory } from './factory.js';
import { type SlotStatus, type SlotSummaryJson, summaryJson } from './slot-summary.js';
import type { TokenState } from './token-keeper.js';
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
  template: { image: string; cernvmVersion?: string; root?: string; hash: string; coresPerSlot: number };
  slots: SlotStatus[];
  /** The pool token as the factory last found it on the host; absent where no one follows it. */
  token?: TokenStatus;
  /** How slot containers have exited since the factory started; absent where no one counts them. */
  exits?: ExitsStatus;
}

export interface TokenStatus {
  /** False while the token is missing or unsafe: no new slot starts; running slots keep the last good copy. */
  usable: boolean;
  problem?: string;
  /** When the slots last got a token from the host file (ISO 8601). */
  installedAt?: string;
  /** New tokens handed to the running slots since the factory started. */
  rotations: number;
}

/** The keeper's state in the status format. */
export function tokenStatus(state: TokenState): TokenStatus {
  return {
    usable: state.usable,
    ...(state.problem ? { problem: state.problem } : {}),
    ...(state.installedAt !== undefined ? { installedAt: new Date(state.installedAt).toISOString() } : {}),
    rotations: state.rotations,
  };
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
      ...(template.rootfs ? { root: template.rootfs } : {}),
      hash: factory.desiredState.templateHash,
      coresPerSlot: template.coresPerSlot,
    },
    slots: factory.slots(),
  };
}
