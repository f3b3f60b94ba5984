import { describe, expect, it } from '@jest/globals';
import { decideBind } from './bind-rules.js';
import type { MountEntry } from './mountinfo.js';

const bound = (root: string, options = ['ro']): MountEntry => ({
  id: 50,
  parentId: 1,
  device: '0:40',
  root,
  mountPoint: '/var/lib/docker/overlay2/x/diff',
  options,
  fsType: 'fuse',
  source: 'cvmfs2',
  deleted: false,
});
const cvm4 = { device: '0:40', root: '/cvm4' };
const user = { id: 'c1', name: 'slot-0', state: 'running' };

describe('decideBind', () => {
  it.each([
    ['nothing bound', undefined, [], 'mount'],
    ['nothing bound, containers exist', undefined, [user], 'mount'],
    ['same source, read-only', bound('/cvm4'), [], 'unchanged'],
    ['same source, read-only, in use', bound('/cvm4'), [user], 'unchanged'],
    ['same source, writable', bound('/cvm4', ['rw']), [user], 'make-read-only'],
    ['another source, unused', bound('/cvm3'), [], 'remount'],
    ['another source, in use', bound('/cvm3'), [user], 'refuse'],
  ] as const)('%s: %s', (_case, current, users, kind) => {
    expect(decideBind(current, cvm4, users).kind).toBe(kind);
  });

  it('names the containers when it refuses', () => {
    expect(decideBind(bound('/cvm3'), cvm4, [user])).toEqual({ kind: 'refuse', users: [user] });
  });
});
