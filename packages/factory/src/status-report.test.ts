import { describe, expect, it } from '@jest/globals';
import os from 'node:os';
import type { SlotSummary } from './slot-summary.js';
import { type StatusSource, statusReport } from './status-report.js';
import { testTemplate } from './testing/builders.js';
import { FACTORY_VERSION } from './version.js';

const SUMMARY: SlotSummary = {
  desired: 16,
  serving: 12,
  starting: 1,
  draining: 2,
  stopping: 1,
  backoff: 0,
  claimed: 9,
  idle: 3,
  unhealthy: 0,
  factoryDraining: false,
  oldestHeartbeatEpoch: 1_767_225_600,
  coresHeld: 15,
  deadlineEpoch: 1_767_229_200,
  latestSlotDeadlineEpoch: 1_767_229_200,
};

function source(summary: SlotSummary | undefined, cernvmVersion?: string): StatusSource {
  return {
    desiredState: { slots: 16, draining: false, templateHash: '0123456789ab', indexLimit: Infinity },
    currentTemplate: testTemplate({ coresPerSlot: 2, ...(cernvmVersion ? { cernvmVersion } : {}) }),
    summary: () => summary,
    slots: () => [
      {
        slot: 0,
        id: 'abcdefabcdef',
        phase: 'running',
        draining: false,
        stopping: false,
        state: 'Claimed',
        jobId: '7.0',
        deadlineEpoch: 1_767_229_200,
      },
    ],
  };
}

/** Every key path of a JSON value, arrays collapsed to `[]`, so a renamed or dropped key changes the list. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => keyPaths(v, `${prefix}[]`)))];
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [
      `${prefix}${prefix ? '.' : ''}${k}`,
      ...keyPaths(v, `${prefix}${prefix ? '.' : ''}${k}`),
    ]);
  return [];
}

describe('statusReport', () => {
  it('keeps the stable key set of docs/status-format.md: keys may be added, never renamed or removed', () => {
    const report = JSON.parse(JSON.stringify(statusReport(source(SUMMARY, '4.7.2'), 'docker-cernvm'))) as unknown;
    expect(keyPaths(report).sort()).toEqual(
      [
        'host',
        'name',
        'version',
        'draining',
        'summary',
        'summary.desired',
        'summary.running',
        'summary.starting',
        'summary.draining',
        'summary.stopping',
        'summary.unhealthy',
        'summary.backoff',
        'summary.claimed',
        'summary.idle',
        'summary.factoryDraining',
        'summary.oldestHeartbeatEpoch',
        'summary.coresHeld',
        'summary.deadlineEpoch',
        'summary.latestSlotDeadlineEpoch',
        'template',
        'template.image',
        'template.cernvmVersion',
        'template.hash',
        'template.coresPerSlot',
        'slots',
        'slots[].slot',
        'slots[].id',
        'slots[].phase',
        'slots[].draining',
        'slots[].stopping',
        'slots[].state',
        'slots[].jobId',
        'slots[].deadlineEpoch',
      ].sort(),
    );
  });

  it('names the host, the version, the snapshot in use and the counts', () => {
    const report = statusReport(source(SUMMARY, '4.7.2'), 'docker-cernvm');
    expect(report).toMatchObject({
      host: os.hostname(),
      name: 'docker-cernvm',
      version: FACTORY_VERSION,
      draining: false,
      summary: { desired: 16, running: 12, claimed: 9, idle: 3, draining: 2 },
      template: { image: 'cernvm:4', cernvmVersion: '4.7.2', hash: '0123456789ab', coresPerSlot: 2 },
    });
    expect(statusReport(source(SUMMARY), 'f', 'node-17').host).toBe('node-17');
  });

  it('leaves out the summary before the first pass and the CernVM version of an ordinary image', () => {
    const report = statusReport(source(undefined), 'docker-cernvm');
    expect(Object.keys(report)).not.toContain('summary');
    expect(Object.keys(report.template)).toEqual(['image', 'hash', 'coresPerSlot']);
  });
});
