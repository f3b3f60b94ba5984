import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Heartbeat, isIdle, isUnhealthy, parseHeartbeat, readHeartbeat } from './heartbeat.js';

const VALID: Heartbeat = {
  time: '2026-11-27T22:00:00Z',
  epoch: 1_795_730_400,
  startedEpoch: 1_795_730_000,
  phase: 'running',
  state: 'Unclaimed',
  activity: 'Idle',
  jobId: null,
  drainReason: null,
};

const text = (changes: Record<string, unknown>) => JSON.stringify({ ...VALID, ...changes });

describe('parseHeartbeat', () => {
  it('accepts what the entrypoint writes', () => {
    // The exact line entrypoint.sh prints, trailing newline included.
    const line =
      '{"time":"2026-11-27T22:00:00Z","epoch":1795730400,"startedEpoch":1795730000,"phase":"running","state":"Unclaimed","activity":"Idle","jobId":null,"drainReason":null}\n';
    expect(parseHeartbeat(line)).toEqual(VALID);
  });

  it('accepts every phase and a claimed slot with a job', () => {
    for (const phase of ['starting', 'running', 'draining', 'stopping', 'exited']) {
      expect(parseHeartbeat(text({ phase }))?.phase).toBe(phase);
    }
    expect(
      parseHeartbeat(text({ state: 'Claimed', activity: 'Busy', jobId: '12.0', drainReason: 'signal' }))?.jobId,
    ).toBe('12.0');
  });

  it.each(['', '{', 'not json', '{"time":', 'null', '42', '"running"', '[]', '[1,2]'])(
    'rejects malformed text %j',
    (bad) => {
      expect(parseHeartbeat(bad)).toBeUndefined();
    },
  );

  it.each<[string, Record<string, unknown>]>([
    ['time as a number', { time: 1 }],
    ['epoch as a string', { epoch: '1795730400' }],
    ['startedEpoch missing', { startedEpoch: undefined }],
    ['phase as a number', { phase: 1 }],
    ['state as a number', { state: 0 }],
    ['activity as a boolean', { activity: false }],
    ['jobId as a number', { jobId: 12 }],
    ['drainReason as an object', { drainReason: {} }],
    ['state missing', { state: undefined }],
  ])('rejects %s', (_, changes) => {
    expect(parseHeartbeat(text(changes))).toBeUndefined();
  });

  it('accepts the health check’s verdict, and rejects one of the wrong type', () => {
    const unhealthy = text({ healthy: false, unhealthySince: 1_700_000_000, unhealthyReason: 'scratch full' });
    expect(parseHeartbeat(unhealthy)).toMatchObject({ healthy: false, unhealthySince: 1_700_000_000 });
    expect(isUnhealthy(parseHeartbeat(unhealthy))).toBe(true);
    expect(isUnhealthy(parseHeartbeat(text({ healthy: null })))).toBe(false);
    expect(isUnhealthy(parseHeartbeat(text({})))).toBe(false);
    expect(parseHeartbeat(text({ healthy: 'no' }))).toBeUndefined();
    expect(parseHeartbeat(text({ unhealthySince: '1700000000' }))).toBeUndefined();
  });

  it('accepts the last job ends as [seconds, status], and rejects any other shape or more than ten', () => {
    expect(parseHeartbeat(text({ jobEnds: [] }))?.jobEnds).toEqual([]);
    expect(
      parseHeartbeat(
        text({
          jobEnds: [
            [3, 1],
            [40, 0],
            [2, 137],
          ],
        }),
      )?.jobEnds,
    ).toEqual([
      [3, 1],
      [40, 0],
      [2, 137],
    ]);
    for (const jobEnds of [[[3]], [[3, 1, 0]], [['3', 1]], [[-1, 1]], [[1.5, 1]], [{ seconds: 3 }], 'none'])
      expect(parseHeartbeat(text({ jobEnds }))).toBeUndefined();
    expect(parseHeartbeat(text({ jobEnds: Array.from({ length: 11 }, () => [1, 1]) }))).toBeUndefined();
  });

  it('rejects an unknown phase', () => {
    expect(parseHeartbeat(text({ phase: 'sleeping' }))).toBeUndefined();
    expect(parseHeartbeat(text({ phase: 'Running' }))).toBeUndefined();
  });
});

describe('readHeartbeat', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'heartbeat-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads a heartbeat file', async () => {
    await writeFile(path.join(dir, 'heartbeat.json'), text({ phase: 'draining' }));
    expect(readHeartbeat(path.join(dir, 'heartbeat.json'))?.phase).toBe('draining');
  });

  it('gives undefined for a pilot that never wrote one, or wrote garbage', async () => {
    expect(readHeartbeat(path.join(dir, 'missing.json'))).toBeUndefined();
    expect(readHeartbeat(dir)).toBeUndefined();
    await writeFile(path.join(dir, 'half.json'), text({}).slice(0, 40));
    expect(readHeartbeat(path.join(dir, 'half.json'))).toBeUndefined();
  });

  it('reads only a regular file of a heartbeat’s size, not through a link: what a slot’s container may leave there', async () => {
    await symlink('/dev/zero', path.join(dir, 'zero.json'));
    expect(readHeartbeat(path.join(dir, 'zero.json'))).toBeUndefined();
    await writeFile(path.join(dir, 'real.json'), text({}));
    await symlink(path.join(dir, 'real.json'), path.join(dir, 'link.json'));
    expect(readHeartbeat(path.join(dir, 'real.json'))?.phase).toBe('running');
    expect(readHeartbeat(path.join(dir, 'link.json'))).toBeUndefined();
    await writeFile(path.join(dir, 'huge.json'), text({}) + ' '.repeat(64 * 1024));
    expect(readHeartbeat(path.join(dir, 'huge.json'))).toBeUndefined();
    // Last, as it is the one that would hang rather than fail: a FIFO blocked the read (and the factory) for good.
    execFileSync('mkfifo', [path.join(dir, 'fifo.json')]);
    expect(readHeartbeat(path.join(dir, 'fifo.json'))).toBeUndefined();
  });
});

describe('isIdle', () => {
  it('is true only for a running pilot whose slot is unclaimed', () => {
    expect(isIdle(VALID)).toBe(true);
    expect(isIdle({ ...VALID, state: 'Claimed', activity: 'Busy' })).toBe(false);
    expect(isIdle({ ...VALID, state: null })).toBe(false);
    expect(isIdle({ ...VALID, phase: 'starting' })).toBe(false);
    expect(isIdle({ ...VALID, phase: 'draining' })).toBe(false);
    expect(isIdle({ ...VALID, phase: 'exited' })).toBe(false);
    expect(isIdle(undefined)).toBe(false);
  });
});
