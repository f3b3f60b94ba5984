import { describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ContainerdSnapshots, directoryOfMounts } from './containerd-snapshots.js';
import { FakeContainerd } from './testing/fake-containerd.js';
import { FakeHost } from './testing/fake-host.js';

const CHAIN = 'sha256:80e42c57bb57a22c9c0f8b87519eeeab70408cb74328fdc5812b0d12773ebccd';
const SOCKET = '/run/docker/containerd/containerd.sock';
const LOCATION = { address: SOCKET, namespace: 'moby', snapshotter: 'overlayfs' };

// Recorded: `ctr -n moby snapshots --snapshotter overlayfs view --mounts KEY CHAIN` against Docker 26.1's containerd.
const RECORDED = `[
    {
        "Type": "bind",
        "Source": "/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots/4/fs",
        "Options": [
            "ro",
            "rbind"
        ]
    }
]
`;

async function setUp() {
  const host = new FakeHost();
  const containerd = new FakeContainerd(SOCKET, await mkdtemp(path.join(tmpdir(), 'containerd-')));
  host.containerd = containerd;
  let n = 0;
  const snapshots = new ContainerdSnapshots(host, 'ctr', () => `docker-cernvm-view-test-${n++}`);
  return { host, containerd, snapshots };
}

describe('directoryOfMounts', () => {
  it('reads the bind source of a one-layer view', () => {
    expect(directoryOfMounts(RECORDED, CHAIN)).toBe(
      '/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots/4/fs',
    );
  });
  it('reads the top lower directory of a view of several layers', () => {
    const overlay = JSON.stringify([
      { Type: 'overlay', Source: 'overlay', Options: ['index=off', 'lowerdir=/s/9/fs:/s/8/fs'] },
    ]);
    expect(directoryOfMounts(overlay, CHAIN)).toBe('/s/9/fs');
  });
  it('refuses output it cannot read', () => {
    expect(() => directoryOfMounts('mount -t bind …', CHAIN)).toThrow(
      expect.objectContaining({ code: 'E_LAYER_MISMATCH' }),
    );
    expect(() => directoryOfMounts('[]', CHAIN)).toThrow(expect.objectContaining({ code: 'E_LAYER_MISMATCH' }));
  });
});

describe('ContainerdSnapshots', () => {
  it('finds the directory through a temporary view, then removes the view', async () => {
    const { host, containerd, snapshots } = await setUp();
    const dir = await containerd.commit(CHAIN);
    await expect(snapshots.directoryOf(LOCATION, CHAIN)).resolves.toBe(dir);
    expect(host.calls).toEqual([
      `ctr -a ${SOCKET} -n moby snapshots --snapshotter overlayfs view --mounts docker-cernvm-view-test-0 ${CHAIN}`,
      `ctr -a ${SOCKET} -n moby snapshots --snapshotter overlayfs rm docker-cernvm-view-test-0`,
    ]);
    expect(containerd.views.size).toBe(0);
  });

  it('removes the view even when its output makes no sense', async () => {
    const { containerd, snapshots } = await setUp();
    await containerd.commit(CHAIN);
    containerd.viewOutput = () => 'no json here';
    await expect(snapshots.directoryOf(LOCATION, CHAIN)).rejects.toMatchObject({ code: 'E_LAYER_MISMATCH' });
    expect(containerd.views.size).toBe(0);
  });

  it('removes the view when ctr fails after containerd made it', async () => {
    const { containerd, snapshots } = await setUp();
    await containerd.commit(CHAIN);
    containerd.failAfterView = 'ctr: signal: killed';
    await expect(snapshots.directoryOf(LOCATION, CHAIN)).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    expect(containerd.views.size).toBe(0);
  });

  it('names the directory containerd cannot stat when the root bound over it has lost its FUSE client', async () => {
    const { containerd, snapshots } = await setUp();
    const dir = await containerd.commit(CHAIN);
    containerd.disconnected.add(CHAIN);
    await expect(snapshots.directoryOf(LOCATION, CHAIN)).resolves.toBe(dir);
    expect(containerd.views.size).toBe(0);
  });

  it('says what to install when ctr is missing', async () => {
    const { host, snapshots } = await setUp();
    host.containerd = undefined;
    await expect(snapshots.directoryOf(LOCATION, CHAIN)).rejects.toMatchObject({
      code: 'E_NO_CONTAINERD',
      message: expect.stringMatching(/apt-get install containerd.*--ctr/),
    });
  });

  it('says what to configure when containerd does not answer at the socket', async () => {
    const { snapshots } = await setUp();
    await expect(snapshots.directoryOf({ ...LOCATION, address: '/nowhere.sock' }, CHAIN)).rejects.toMatchObject({
      code: 'E_NO_CONTAINERD',
      message: expect.stringContaining('--containerd-socket'),
    });
  });

  it('names the missing snapshot and namespace', async () => {
    const { snapshots } = await setUp();
    await expect(snapshots.directoryOf(LOCATION, CHAIN)).rejects.toMatchObject({
      code: 'E_LAYER_MISMATCH',
      message: expect.stringContaining(`no snapshot ${CHAIN} in namespace moby`),
    });
  });

  it('removes only the views of mounters that run no more', async () => {
    const host = new FakeHost();
    const containerd = new FakeContainerd(SOCKET, await mkdtemp(path.join(tmpdir(), 'containerd-')));
    host.containerd = containerd;
    await containerd.commit(CHAIN);
    containerd.views.add('docker-cernvm-view-111-aa11');
    containerd.views.add('docker-cernvm-view-222-bb22');
    containerd.views.add('someone-elses-view');
    const snapshots = new ContainerdSnapshots(host, 'ctr', undefined, (pid) => pid === 222);
    await expect(snapshots.removeStaleViews(LOCATION)).resolves.toEqual(['docker-cernvm-view-111-aa11']);
    expect([...containerd.views].sort()).toEqual(['docker-cernvm-view-222-bb22', 'someone-elses-view']);
  });
});
