import { describe, expect, it } from '@jest/globals';
import { layerStorageOf } from './layer-storage.js';

// Recorded from Docker 20.10 (overlay2).
const OVERLAY2_INFO = {
  driver: 'overlay2',
  driverStatus: [
    ['Backing Filesystem', 'extfs'],
    ['Supports d_type', 'true'],
    ['Native Overlay Diff', 'true'],
  ] as Array<[string, string]>,
  dockerRootDir: '/var/lib/docker',
};
// Recorded from Docker 26.1 with the containerd image store.
const CONTAINERD_INFO = {
  driver: 'overlayfs',
  driverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] as Array<[string, string]>,
  dockerRootDir: '/var/lib/docker',
};

describe('layerStorageOf', () => {
  it('accepts overlay2 and aufs', () => {
    expect(layerStorageOf(OVERLAY2_INFO)).toEqual({
      store: 'graphdriver',
      driver: 'overlay2',
      dockerRootDir: '/var/lib/docker',
    });
    expect(layerStorageOf({ ...OVERLAY2_INFO, driver: 'aufs', driverStatus: [] }).driver).toBe('aufs');
  });
  it('accepts the containerd image store with the overlayfs snapshotter, in namespace moby unless told', () => {
    expect(layerStorageOf(CONTAINERD_INFO)).toEqual({
      store: 'containerd',
      driver: 'overlayfs',
      dockerRootDir: '/var/lib/docker',
      containerdAddress: undefined,
      namespace: 'moby',
      engineRoot: '/',
    });
    // API 1.46 and later name containerd's socket and namespace.
    const named = {
      ...CONTAINERD_INFO,
      containerdAddress: '/run/containerd/containerd.sock',
      containerdNamespace: 'other',
    };
    expect(layerStorageOf(named)).toMatchObject({
      containerdAddress: '/run/containerd/containerd.sock',
      namespace: 'other',
    });
  });
  it('refuses other snapshotters of the containerd image store, naming them', () => {
    expect(() => layerStorageOf({ ...CONTAINERD_INFO, driver: 'native' })).toThrow(
      expect.objectContaining({
        code: 'E_UNSUPPORTED_STORAGE',
        message: expect.stringContaining('native snapshotter'),
      }),
    );
  });
  it.each(['vfs', 'btrfs', 'zfs', 'devicemapper'])('refuses %s, naming it', (driver) => {
    expect(() => layerStorageOf({ ...OVERLAY2_INFO, driver, driverStatus: [] })).toThrow(
      expect.objectContaining({ code: 'E_UNSUPPORTED_STORAGE', message: expect.stringContaining(driver) }),
    );
  });
});
