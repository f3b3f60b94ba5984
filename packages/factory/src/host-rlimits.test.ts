import { describe, expect, it } from '@jest/globals';
import { parseRlimits } from './host-rlimits.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             96369                96369                processes
Max open files            1024                 20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('parseRlimits', () => {
  it('reads open files and processes from /proc/self/limits', () => {
    expect(parseRlimits(LIMITS)).toEqual({
      nofile: { soft: 1024, hard: 20000 },
      nproc: { soft: 96369, hard: 96369 },
    });
  });

  it('gives unlimited (and a missing row) as undefined', () => {
    const text = LIMITS.replace('96369                96369', 'unlimited            unlimited').replace(
      /Max open files.*\n/,
      '',
    );
    expect(parseRlimits(text)).toEqual({
      nofile: { soft: undefined, hard: undefined },
      nproc: { soft: undefined, hard: undefined },
    });
  });
});
