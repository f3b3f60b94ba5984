import { describe, expect, it } from '@jest/globals';
import { type HostMountOf, type MountHost, checkMountSources, mountOfPath } from './host-mounts.js';
import type { SlotMount } from './mounts.js';

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '30 22 0:40 / /cvmfs rw,relatime shared:7 - autofs systemd-1 rw',
  '31 30 0:41 / /cvmfs/alice.cern.ch ro,relatime shared:9 - fuse cvmfs2 ro',
  '40 22 0:50 / /data rw,relatime master:3 - ext4 /dev/vdb rw',
  '41 22 0:51 / /with\\040space rw - tmpfs tmpfs rw',
].join('\n');

describe('mountOfPath', () => {
  it.each<[string, HostMountOf]>([
    ['/cvmfs/alice.cern.ch/bin', { mountPoint: '/cvmfs/alice.cern.ch', propagation: 'shared' }],
    ['/cvmfs', { mountPoint: '/cvmfs', propagation: 'shared' }],
    ['/data/x', { mountPoint: '/data', propagation: 'slave' }],
    ['/database', { mountPoint: '/', propagation: 'private' }],
    ['/with space/x', { mountPoint: '/with space', propagation: 'private' }],
  ])('%s is on %j', (target, expected) => {
    expect(mountOfPath(MOUNTINFO, target)).toEqual(expected);
  });
});

/** A host whose paths and mounts a test lists; symlinks are a map from path to real path. */
class FakeMountHost implements MountHost {
  constructor(
    private readonly existing: ReadonlyMap<string, string>,
    private readonly mountinfo = MOUNTINFO,
  ) {}

  async resolve(path: string): Promise<string | undefined> {
    return this.existing.get(path);
  }

  async mountOf(path: string): Promise<HostMountOf> {
    return mountOfPath(this.mountinfo, path);
  }
}

const mount = (source: string, overrides: Partial<SlotMount> = {}): SlotMount => ({
  source,
  target: source,
  readOnly: true,
  propagation: 'rslave',
  ...overrides,
});

const host = new FakeMountHost(
  new Map([
    ['/cvmfs', '/cvmfs'],
    ['/cvmfs/alice.cern.ch', '/cvmfs/alice.cern.ch'],
    ['/data/site', '/data/site'],
    ['/srv/site', '/srv/site'],
    ['/srv/link-to-token-dir', '/etc/docker-cernvm'],
    ['/etc/docker-cernvm/pool.token', '/etc/docker-cernvm/pool.token'],
  ]),
);
const PROTECTED = [
  '/etc/docker-cernvm/pool.token',
  '/var/lib/docker-cernvm/factory/f',
  '/var/lib/docker-cernvm/scratch/f',
];

describe('checkMountSources', () => {
  it('passes sources that exist on shared or slave mounts, and private ones with rprivate', async () => {
    const mounts = [
      mount('/cvmfs'),
      mount('/cvmfs/alice.cern.ch'),
      mount('/data/site'),
      mount('/srv/site', { propagation: 'rprivate' }),
    ];
    await expect(checkMountSources(host, { mounts, protectedPaths: PROTECTED })).resolves.toBeUndefined();
  });

  it('refuses a source that does not exist, naming it, with E_BAD_MOUNT', async () => {
    await expect(
      checkMountSources(host, { mounts: [mount('/cvmfs'), mount('/cvmfs/sft.cern.ch')], protectedPaths: [] }),
    ).rejects.toThrow(
      expect.objectContaining({
        code: 'E_BAD_MOUNT',
        message: 'mounts.1.source /cvmfs/sft.cern.ch: does not exist on this host (create it or mount it first)',
      }),
    );
  });

  it('refuses rslave from a private mount, saying what to run', async () => {
    await expect(checkMountSources(host, { mounts: [mount('/srv/site')], protectedPaths: [] })).rejects.toThrow(
      /^mounts\.0\.source \/srv\/site: is on the private mount \/, .*run mount --make-rshared \/ .*or set propagation: rprivate/,
    );
  });

  it('refuses a source that would show the token or the slots’ directories to jobs, through a symlink too', async () => {
    const withParents = new FakeMountHost(
      new Map([
        ['/etc/docker-cernvm', '/etc/docker-cernvm'],
        ['/var/lib/docker-cernvm', '/var/lib/docker-cernvm'],
      ]),
    );
    for (const source of ['/etc/docker-cernvm', '/var/lib/docker-cernvm']) {
      await expect(
        checkMountSources(withParents, { mounts: [mount(source)], protectedPaths: PROTECTED }),
      ).rejects.toThrow(/would show .* to every job/);
    }
    await expect(
      checkMountSources(host, { mounts: [mount('/srv/link-to-token-dir')], protectedPaths: PROTECTED }),
    ).rejects.toThrow(
      /^mounts\.0\.source \/srv\/link-to-token-dir: would show \/etc\/docker-cernvm\/pool\.token to every job/,
    );
  });

  it('names the setting it was given', async () => {
    await expect(
      checkMountSources(host, { mounts: [mount('/nope')], protectedPaths: [], key: '--mount' }),
    ).rejects.toThrow(/^--mount\.0\.source \/nope/);
  });
});
