import { describe, expect, it } from '@jest/globals';
import { listeningInode, parseRlimits } from './host-rlimits.js';

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

const NET_UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
000000006c4356a5: 00000003 00000000 00000000 0001 03 6559300 /run/podman/podman.sock
000000006c4356a6: 00000002 00000000 00010000 0001 01 6559221 /run/podman/podman.sock
000000006c4356a7: 00000002 00000000 00010000 0001 01 6559222 /run/docker.sock
`;

describe('listeningInode', () => {
  it('finds the listening socket at a path, not a connection to it', () => {
    expect(listeningInode(NET_UNIX, '/run/podman/podman.sock')).toBe('6559221');
    expect(listeningInode(NET_UNIX, '/run/other.sock')).toBeUndefined();
  });
});
