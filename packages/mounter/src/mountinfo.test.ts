import { describe, expect, it } from '@jest/globals';
import {
  identityOfMount,
  identityOfPath,
  isReadOnly,
  mountAt,
  mountContaining,
  parseMountInfo,
  sameIdentity,
  sourcePathOf,
} from './mountinfo.js';

// Recorded from a host with a CVMFS-like FUSE mount and two binds over overlay2 layer directories.
const RECORDED = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '30 22 0:40 / /cvmfs/cernvm-prod.cern.ch ro,nosuid,nodev,relatime shared:20 - fuse cvmfs2 ro,user_id=0,group_id=0',
  '41 22 0:40 /cvm4 /var/lib/docker/overlay2/aaa/diff ro,relatime shared:20 - fuse cvmfs2 ro',
  '42 22 8:1 /srv/with\\040space /mnt/spaced rw,relatime shared:1 - ext4 /dev/vda rw',
  '43 22 8:1 /tmp/gone//deleted /var/lib/docker/overlay2/bbb/diff ro,relatime shared:1 - ext4 /dev/vda rw',
  '44 41 0:40 /cvm3 /var/lib/docker/overlay2/aaa/diff ro,relatime shared:20 - fuse cvmfs2 ro',
  '',
].join('\n');

describe('parseMountInfo', () => {
  const table = parseMountInfo(RECORDED);

  it('reads every line with its fields', () => {
    expect(table).toHaveLength(6);
    expect(table[1]).toMatchObject({
      id: 30,
      parentId: 22,
      device: '0:40',
      root: '/',
      mountPoint: '/cvmfs/cernvm-prod.cern.ch',
      fsType: 'fuse',
      source: 'cvmfs2',
      deleted: false,
    });
  });

  it('decodes octal escapes in paths', () => {
    expect(table[3]?.root).toBe('/srv/with space');
  });

  it('marks a bind whose source was deleted', () => {
    expect(table[4]).toMatchObject({ root: '/tmp/gone', deleted: true });
  });

  it('sees the read-only flag', () => {
    expect(isReadOnly(table[2]!)).toBe(true);
    expect(isReadOnly(table[0]!)).toBe(false);
  });

  it('returns the visible (last) mount when several are stacked', () => {
    expect(mountAt(table, '/var/lib/docker/overlay2/aaa/diff')?.root).toBe('/cvm3');
  });

  it('finds the mount holding a path by the longest prefix, not a string prefix', () => {
    expect(mountContaining(table, '/cvmfs/cernvm-prod.cern.ch/cvm4/bin')?.id).toBe(30);
    expect(mountContaining(table, '/cvmfs/cernvm-prod.cern.chX')?.id).toBe(22);
  });

  it('gives a bind and its source the same identity', () => {
    const source = identityOfPath(table, '/cvmfs/cernvm-prod.cern.ch/cvm4');
    expect(source).toEqual({ device: '0:40', root: '/cvm4' });
    expect(sameIdentity(source, identityOfMount(table[2]!))).toBe(true);
    expect(sameIdentity(identityOfPath(table, '/cvmfs/cernvm-prod.cern.ch/cvm3'), identityOfMount(table[2]!))).toBe(
      false,
    );
  });

  it('tells the same directory on another device apart', () => {
    expect(sameIdentity({ device: '8:1', root: '/cvm4' }, { device: '0:40', root: '/cvm4' })).toBe(false);
  });

  it('maps a bind back to a path where its source is visible', () => {
    expect(sourcePathOf(table, table[2]!)).toBe('/cvmfs/cernvm-prod.cern.ch/cvm4');
    expect(sourcePathOf(table, table[3]!)).toBe('/srv/with space');
  });
});
