import { describe, expect, it } from '@jest/globals';
import type { DesiredState } from './reconcile.js';
import { SlotLedger } from './slot-ledger.js';
import { slotStatuses, summarize, summaryJson } from './slot-summary.js';
import { busy, heartbeat, idle } from './testing/builders.js';
import { CURRENT, created, exited, running } from './testing/observed.js';

const DESIRED: DesiredState = {
  slots: 4,
  draining: false,
  templateHash: CURRENT,
  indexLimit: Number.POSITIVE_INFINITY,
};
const NOW = 1_000_000;

describe('summarize', () => {
  it('counts serving, starting, draining, stopping and backoff slots, and the claimed and idle pilots', () => {
    const ledger = new SlotLedger();
    ledger.begin({ kind: 'create', slot: 5 });
    ledger.sentDrain('s1', 0);
    ledger.sentStop('s2');
    const observed = [
      running(0, { heartbeat: busy() }),
      running(1, { heartbeat: idle() }),
      running(2, { heartbeat: busy() }),
      running(3, { heartbeat: idle() }),
      running(4, { heartbeat: heartbeat({ phase: 'draining', state: 'Claimed' }), draining: true }),
      created(6),
      exited(7),
    ];
    const retryAt = new Map([
      [7, NOW + 1_000],
      [8, NOW - 1],
    ]);
    expect(summarize(DESIRED, observed, ledger, retryAt, NOW)).toEqual({
      coresHeld: 5,
      desired: 4,
      serving: 2,
      starting: 1,
      draining: 2,
      stopping: 1,
      backoff: 1,
      claimed: 3,
      idle: 1,
      unhealthy: 0,
      factoryDraining: false,
      oldestHeartbeatEpoch: busy().epoch,
    });
  });

  it('counts running slots whose health check fails as unhealthy, and shows why in their status', () => {
    const sick = heartbeat({
      healthy: false,
      unhealthySince: 1_700_000_000,
      unhealthyReason: 'scratch /scratch is full',
    });
    const observed = [
      running(0, { heartbeat: sick }),
      running(1, { heartbeat: heartbeat({ healthy: true }) }),
      running(2, { heartbeat: heartbeat({ healthy: null }) }),
    ];
    expect(summarize(DESIRED, observed, new SlotLedger(), new Map(), NOW).unhealthy).toBe(1);
    const statuses = slotStatuses(observed, new SlotLedger());
    expect(statuses[0]).toMatchObject({ unhealthyReason: 'scratch /scratch is full', unhealthySince: 1_700_000_000 });
    expect(statuses.slice(1).map((s) => s.unhealthyReason)).toEqual([undefined, undefined]);
  });

  it('has no oldest heartbeat when no running pilot writes one, and says when the factory drains', () => {
    const summary = summarize({ ...DESIRED, draining: true }, [running(0)], new SlotLedger(), new Map(), NOW);
    expect(summary.oldestHeartbeatEpoch).toBeUndefined();
    expect(summary).toMatchObject({ serving: 1, factoryDraining: true });
  });

  it('takes the oldest heartbeat among running pilots only', () => {
    const observed = [
      running(0, { heartbeat: heartbeat({ epoch: 500 }) }),
      running(1, { heartbeat: heartbeat({ epoch: 200 }) }),
      exited(2, { heartbeat: heartbeat({ epoch: 100 }) }),
    ];
    expect(summarize(DESIRED, observed, new SlotLedger(), new Map(), NOW).oldestHeartbeatEpoch).toBe(200);
  });
});

describe('slotStatuses', () => {
  it('lists each container by slot, then age, with its short id, drain or stop, state and job', () => {
    const ledger = new SlotLedger();
    const observed = [
      running(2, { id: 's2'.padEnd(64, '0') }),
      running(1, { id: 'newer', createdAt: 2_000, heartbeat: idle() }),
      running(1, { id: 'older', createdAt: 1_000, heartbeat: busy(), draining: true }),
    ];
    ledger.sentStop(observed[0]!.id);
    expect(slotStatuses(observed, ledger)).toEqual([
      { slot: 1, id: 'older', phase: 'running', draining: true, stopping: false, state: 'Claimed', jobId: '12.0' },
      { slot: 1, id: 'newer', phase: 'running', draining: false, stopping: false, state: 'Unclaimed' },
      { slot: 2, id: 's20000000000', phase: 'running', draining: false, stopping: true },
    ]);
  });
});

describe('summaryJson', () => {
  it('shows the serving slots as `running`, second, as status --json always did', () => {
    const summary = summarize(DESIRED, [running(0)], new SlotLedger(), new Map(), NOW);
    expect(JSON.stringify(summaryJson(summary))).toBe(
      '{"desired":4,"running":1,"starting":0,"draining":0,"stopping":0,"backoff":0,"claimed":0,"idle":0,"unhealthy":0,"factoryDraining":false,"coresHeld":1}',
    );
    expect(summaryJson(undefined)).toBeUndefined();
  });
});

describe('summarize: deadlines', () => {
  it("says the drain's deadline, the latest slot deadline and the cores the running slots still hold", () => {
    const observed = [
      running(0, { draining: true, deadline: NOW + 20_000 }),
      running(1, { draining: true, deadline: NOW + 60_000 }),
      running(2),
    ];
    const summary = summarize(
      { ...DESIRED, draining: true, deadline: NOW + 20_000 },
      observed,
      new SlotLedger(),
      new Map(),
      NOW,
      4,
    );
    expect(summary).toMatchObject({
      deadlineEpoch: Math.round((NOW + 20_000) / 1000),
      latestSlotDeadlineEpoch: Math.round((NOW + 60_000) / 1000),
      coresHeld: 12,
    });
    expect(slotStatuses(observed, new SlotLedger()).map((s) => s.deadlineEpoch)).toEqual([
      Math.round((NOW + 20_000) / 1000),
      Math.round((NOW + 60_000) / 1000),
      undefined,
    ]);
  });
});
