import { describe, expect, it } from '@jest/globals';
import type { PlaceholderStatus } from '@docker-cernvm/mounter';
import {
  type FollowMounter,
  type FollowedRoot,
  type FollowedSnapshot,
  RootFollower,
  type RootFollowMounter,
  SnapshotFollower,
  newerSnapshot,
} from './snapshot-follower.js';
import { FakeClock } from './testing/fake-clock.js';

describe('newerSnapshot', () => {
  it.each<[string[], string | undefined, string | undefined]>([
    [
      ['cernvm-system-4.7.1.0', 'cernvm-system-4.7.10.0', 'cernvm-system-4.7.2.0'],
      'cernvm-system-4.7.2.0',
      'cernvm-system-4.7.10.0',
    ],
    [['cernvm-system-4.7.1.0', 'cernvm-system-4.7.2.0'], 'cernvm-system-4.7.2.0', undefined],
    [['cernvm-system-4.7.1.0'], 'cernvm-system-4.7.2.0', undefined],
    [['cernvm-system-4.7.1.0'], undefined, 'cernvm-system-4.7.1.0'],
    [[], 'cernvm-system-4.7.1.0', undefined],
  ])('of %j after %s is %s (by version, not by text)', (available, current, expected) => {
    expect(newerSnapshot(available, current)).toBe(expected);
  });
});

function mounterWith(snapshot: string | undefined, available: string[] | undefined) {
  const calls: string[] = [];
  const status = (tag: string): PlaceholderStatus =>
    ({
      imageId: 'sha256:x',
      tags: [tag],
      pair: { repository: 'cernvm-prod.cern.ch', ...(snapshot ? { snapshot } : {}) },
      layerDir: '/l',
    }) as unknown as PlaceholderStatus;
  const mounter: FollowMounter = {
    inspectPlaceholder: async (tag) => {
      calls.push(`inspect ${tag}`);
      return tag.startsWith('site/') ? undefined : status(tag);
    },
    snapshots: async (repository) => {
      calls.push(`snapshots ${repository}`);
      return { repository, repositoryDir: '/cvmfs/x', available, mounted: [] };
    },
    mount: async (request) => {
      calls.push(`mount ${request.tag} ${request.snapshot}`);
      return { version: 'cernvm-system-4.7.3.0' } as Awaited<ReturnType<FollowMounter['mount']>>;
    },
  };
  return { mounter, calls };
}

describe('SnapshotFollower', () => {
  const follower = (mounter: FollowMounter, image: string, rolled: FollowedSnapshot[], errors: Error[] = []) =>
    new SnapshotFollower(
      mounter,
      new FakeClock(),
      1000,
      image,
      async (f) => void rolled.push(f),
      (e) => void errors.push(e),
    );

  it('mounts a newer published snapshot beside the current one, as <name>:<snapshot>, and rolls to it', async () => {
    const { mounter, calls } = mounterWith('cernvm-system-4.7.2.0', ['cernvm-system-4.7.2.0', 'cernvm-system-4.7.3.0']);
    const rolled: FollowedSnapshot[] = [];
    await expect(follower(mounter, 'cernvm:4.7.2', rolled).check()).resolves.toEqual({
      image: 'cernvm:cernvm-system-4.7.3.0',
      snapshot: 'cernvm-system-4.7.3.0',
      version: 'cernvm-system-4.7.3.0',
    });
    expect(calls).toContain('mount cernvm:cernvm-system-4.7.3.0 cernvm-system-4.7.3.0');
    expect(rolled.map((r) => r.image)).toEqual(['cernvm:cernvm-system-4.7.3.0']);
  });

  it('does nothing while the image already shows the newest snapshot', async () => {
    const { mounter, calls } = mounterWith('cernvm-system-4.7.3.0', ['cernvm-system-4.7.2.0', 'cernvm-system-4.7.3.0']);
    const rolled: FollowedSnapshot[] = [];
    await expect(follower(mounter, 'cernvm:4', rolled).check()).resolves.toBeUndefined();
    expect(calls.some((c) => c.startsWith('mount'))).toBe(false);
    expect(rolled).toEqual([]);
  });

  it('follows from the newly mounted image on the next look, not from the first one', async () => {
    const { mounter, calls } = mounterWith(undefined, ['cernvm-system-4.7.3.0']);
    const f = follower(mounter, 'cernvm:4', []);
    await f.check();
    await f.check();
    expect(calls.filter((c) => c.startsWith('inspect'))).toEqual([
      'inspect cernvm:4',
      'inspect cernvm:cernvm-system-4.7.3.0',
    ]);
  });

  it('refuses an ordinary image: there is no repository to follow', async () => {
    const { mounter } = mounterWith(undefined, []);
    await expect(follower(mounter, 'site/app:1', []).check()).rejects.toThrow(
      'site/app:1 is not a docker-cernvm placeholder',
    );
  });

  it('looks again every interval, and reports a failed look without stopping', async () => {
    const clock = new FakeClock();
    const errors: Error[] = [];
    let looks = 0;
    const mounter: FollowMounter = {
      inspectPlaceholder: async () => {
        looks += 1;
        throw new Error('engine down');
      },
      snapshots: async () => ({ repository: 'b', repositoryDir: '/', available: [], mounted: [] }),
      mount: async () => ({}) as Awaited<ReturnType<FollowMounter['mount']>>,
    };
    const f = new SnapshotFollower(
      mounter,
      clock,
      1000,
      'cernvm:4',
      async () => undefined,
      (e) => void errors.push(e),
    );
    f.start();
    await clock.advance(0);
    await clock.advance(1000);
    await clock.advance(1000);
    f.stop();
    await clock.advance(5000);
    expect(looks).toBe(3);
    expect(errors.map((e) => e.message)).toEqual(['engine down', 'engine down', 'engine down']);
  });
});

describe('RootFollower', () => {
  function rootMounter(available: string[] | undefined) {
    const calls: string[] = [];
    const mounter: RootFollowMounter = {
      publishedSnapshots: async (repository) => {
        calls.push(`published ${repository}`);
        return available;
      },
      resolveRoot: async (request = {}) => {
        calls.push(`resolve ${request.snapshot}`);
        return {
          pair: { repository: 'cernvm-prod.cern.ch', ...(request.snapshot ? { snapshot: request.snapshot } : {}) },
          rootDir: `/cvmfs/cernvm-prod.cern.ch/.cvmfs/snapshots/${request.snapshot}/cvm4`,
          version: request.snapshot,
        };
      },
    };
    return { mounter, calls };
  }
  const follower = (mounter: RootFollowMounter, cernvm: object, rolled: FollowedRoot[]) =>
    new RootFollower(
      mounter,
      new FakeClock(),
      1000,
      cernvm,
      async (f) => void rolled.push(f),
      () => undefined,
    );

  it('resolves a newer published snapshot as a root, keeping the other choices, and rolls to it once', async () => {
    const { mounter, calls } = rootMounter(['cernvm-system-4.7.2.0', 'cernvm-system-4.7.10.0']);
    const rolled: FollowedRoot[] = [];
    const f = follower(mounter, { snapshot: 'cernvm-system-4.7.2.0', root: 'cvm4' }, rolled);
    await f.check();
    await f.check();
    expect(rolled).toEqual([
      {
        cernvm: { snapshot: 'cernvm-system-4.7.10.0', root: 'cvm4' },
        rootDir: '/cvmfs/cernvm-prod.cern.ch/.cvmfs/snapshots/cernvm-system-4.7.10.0/cvm4',
        version: 'cernvm-system-4.7.10.0',
      },
    ]);
    expect(calls).toEqual(['published undefined', 'resolve cernvm-system-4.7.10.0', 'published undefined']);
  });

  it('rolls nowhere when the repository publishes nothing newer, or no snapshots at all', async () => {
    for (const available of [['cernvm-system-4.7.2.0'], undefined]) {
      const { mounter, calls } = rootMounter(available);
      const rolled: FollowedRoot[] = [];
      expect(await follower(mounter, { snapshot: 'cernvm-system-4.7.2.0' }, rolled).check()).toBeUndefined();
      expect(rolled).toEqual([]);
      expect(calls.filter((c) => c.startsWith('resolve'))).toEqual([]);
    }
  });
});
