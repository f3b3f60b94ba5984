import type { Heartbeat } from '@docker-cernvm/pilot';
import type { PlaceholderStatus } from '@docker-cernvm/mounter';
import type { SlotTemplate } from '../template.js';

/** A heartbeat as the pilot entrypoint writes it; `idle` and `busy` are the two a scale-down cares about. */
export function heartbeat(overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    time: '2026-01-01T00:00:00Z',
    epoch: 1_767_225_600,
    startedEpoch: 1_767_225_600,
    phase: 'running',
    state: 'Unclaimed',
    activity: 'Idle',
    jobId: null,
    drainReason: null,
    ...overrides,
  };
}

export const idle = (): Heartbeat => heartbeat();
export const busy = (): Heartbeat => heartbeat({ state: 'Claimed', activity: 'Busy', jobId: '12.0' });

/** A valid slot template (a local collector, so the host network needs no interface), with overrides. */
export function testTemplate(overrides: Partial<SlotTemplate> = {}): SlotTemplate {
  return {
    image: 'cernvm:4',
    slotCommand: 'pilot',
    collector: '127.0.0.1:9618',
    tokenFile: '/etc/docker-cernvm/pool.token',
    networkMode: 'host',
    coresPerSlot: 1,
    pin: false,
    memoryMb: 2048,
    pidsLimit: 4096,
    environment: {},
    mounts: [],
    scratchDir: '/var/lib/docker-cernvm/scratch',
    pilot: {},
    ...overrides,
  };
}

/** What the mounter says about a placeholder image with a CernVM root mounted over it, with overrides. */
export function placeholderStatus(overrides: Partial<PlaceholderStatus> = {}): PlaceholderStatus {
  return {
    imageId: 'sha256:0123456789abcdef',
    tags: ['cernvm:4'],
    pair: { repository: 'cernvm-prod.cern.ch' },
    layerDir: '/var/lib/docker/overlay2/0123456789abcdef/diff',
    bound: { source: '/cvmfs/cernvm-prod.cern.ch/cvm4', readOnly: true, deleted: false },
    version: '4.7.2',
    containers: [],
    ...overrides,
  };
}
