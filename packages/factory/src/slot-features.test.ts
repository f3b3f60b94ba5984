import { describe, expect, it } from '@jest/globals';
import { featureFiles, jobFeaturesOf } from './slot-features.js';

const START = 1_800_000_000;
const limits = { coresPerSlot: 4, memoryMb: 2048 };

describe('featureFiles', () => {
  it('writes the machine and job features a slot without a deadline has, one integer and a newline each', () => {
    expect(featureFiles({ totalCpu: 16 }, jobFeaturesOf(limits, START * 1000 + 999, undefined))).toEqual({
      machine: { total_cpu: '16\n' },
      job: {
        allocated_cpu: '4\n',
        max_rss_bytes: '2147483648\n',
        max_swap_bytes: '0\n',
        jobstart_secs: `${START}\n`,
      },
    });
  });

  it('adds shutdowntime_job and wall_limit_secs (from the job start) once the slot has a deadline', () => {
    const { job } = featureFiles({ totalCpu: 16 }, jobFeaturesOf(limits, START * 1000, START + 2700));
    expect(job.shutdowntime_job).toBe(`${START + 2700}\n`);
    expect(job.wall_limit_secs).toBe('2700\n');
  });

  it('ends the slot at the host’s shutdown when that comes before its own deadline', () => {
    const files = featureFiles(
      { totalCpu: 16, shutdowntime: START + 600 },
      jobFeaturesOf(limits, START * 1000, START + 2700),
    );
    expect(files.machine.shutdowntime).toBe(`${START + 600}\n`);
    expect(files.job.shutdowntime_job).toBe(`${START + 600}\n`);
    expect(files.job.wall_limit_secs).toBe('600\n');
  });

  it('never gives a negative wall limit for a deadline already past', () => {
    const { job } = featureFiles({ totalCpu: 16 }, jobFeaturesOf(limits, START * 1000, START - 5));
    expect(job.wall_limit_secs).toBe('0\n');
  });

  it('publishes hs06 when configured, and the slot’s share of it as hs06_job', () => {
    const files = featureFiles({ totalCpu: 16, hs06: 250.5 }, jobFeaturesOf(limits, START * 1000, undefined));
    expect(files.machine.hs06).toBe('250.5\n');
    expect(files.job.hs06_job).toBe('62.63\n');
  });

  it('gives scratch_limit_bytes only when the slot has a disk limit', () => {
    const { job } = featureFiles({ totalCpu: 1 }, jobFeaturesOf({ ...limits, diskMb: 10 }, 0, undefined));
    expect(job.scratch_limit_bytes).toBe(`${10 * 1024 * 1024}\n`);
  });
});
