import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ImageLayerInfo, chainId, checkSnapshotDir, isLayerDir, resolveLayerDir } from './layer-dir.js';
import type { ContainerdStorage } from './layer-storage.js';

// Recorded from Docker 20.10 (overlay2): a two-layer image FROM scratch, and its layer database entry.
const LAYERS = [
  'sha256:f8843e137b8b569690e489c182ab36a5b851b4631b744662cf19028fb2d43b0d',
  'sha256:2f4d8f1df2588444de8375666775762c591a07828933cff7999f4138c2d7d291',
];
const CHAIN = '3a318d4e4657fe5c4675594d11fa7c283aedaa8e0d6712e42c652b8dbfa32e52';
const CACHE_ID = '5b4c2b48944b786d880ddbebfb3b13dd65bd87058bf1924575900f1de66ef556';

describe('chainId', () => {
  it('is the diff id for one layer', () => {
    expect(chainId([LAYERS[0]!])).toBe(LAYERS[0]);
  });
  it('matches the chain id the engine used for a two-layer image', () => {
    expect(chainId(LAYERS)).toBe(`sha256:${CHAIN}`);
  });
});

describe('resolveLayerDir from a layer database tree', () => {
  let root: string;
  const image = (upperDir?: string): ImageLayerInfo => ({
    id: 'sha256:413a657c1387',
    layers: LAYERS,
    graphDriver: upperDir ? { name: 'overlay2', data: { UpperDir: upperDir } } : undefined,
  });

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'layerdb-'));
    for (const driver of ['overlay2', 'aufs']) {
      const entry = path.join(root, 'image', driver, 'layerdb', 'sha256', CHAIN);
      await mkdir(entry, { recursive: true });
      await writeFile(path.join(entry, 'cache-id'), CACHE_ID);
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('finds the overlay2 diff directory and agrees with the engine', async () => {
    const expected = path.join(root, 'overlay2', CACHE_ID, 'diff');
    await expect(
      resolveLayerDir({ store: 'graphdriver', driver: 'overlay2', dockerRootDir: root }, image(expected)),
    ).resolves.toBe(expected);
  });

  it('refuses when the engine reports another directory than the layer database', async () => {
    const storage = { store: 'graphdriver' as const, driver: 'overlay2' as const, dockerRootDir: root };
    await expect(resolveLayerDir(storage, image('/elsewhere/diff'))).rejects.toMatchObject({
      code: 'E_LAYER_MISMATCH',
    });
  });

  it('resolves the aufs diff directory the same way', async () => {
    await expect(resolveLayerDir({ store: 'graphdriver', driver: 'aufs', dockerRootDir: root }, image())).resolves.toBe(
      path.join(root, 'aufs', 'diff', CACHE_ID),
    );
  });

  it('says so when the layer database has no entry', async () => {
    const storage = {
      store: 'graphdriver' as const,
      driver: 'overlay2' as const,
      dockerRootDir: path.join(root, 'missing'),
    };
    await expect(resolveLayerDir(storage, image())).rejects.toMatchObject({ code: 'E_LAYER_MISMATCH' });
  });
});

describe('isLayerDir', () => {
  const id = 'a'.repeat(64);
  it('recognises overlay2 and aufs layer directories only', () => {
    const overlay = { store: 'graphdriver' as const, driver: 'overlay2' as const, dockerRootDir: '/var/lib/docker' };
    expect(isLayerDir(overlay, `/var/lib/docker/overlay2/${id}/diff`)).toBe(true);
    expect(isLayerDir(overlay, `/var/lib/docker/overlay2/${id}/merged`)).toBe(false);
    expect(isLayerDir(overlay, `/var/lib/docker/overlay2/${id}-init/diff`)).toBe(false);
    expect(
      isLayerDir(
        { store: 'graphdriver', driver: 'aufs', dockerRootDir: '/var/lib/docker' },
        `/var/lib/docker/aufs/diff/${id}`,
      ),
    ).toBe(true);
  });
});

describe('containerd snapshot directories', () => {
  const storage: ContainerdStorage = {
    store: 'containerd',
    driver: 'overlayfs',
    dockerRootDir: '/srv/engine/var/lib/docker',
    containerdAddress: '/srv/engine/run/docker/containerd/containerd.sock',
    namespace: 'moby',
    engineRoot: '/srv/engine',
  };
  const image = { id: 'sha256:0f636c779037', layers: [LAYERS[0]!], graphDriver: { name: 'overlayfs', data: null } };
  // Recorded from Docker 26.1 (containerd 1.7, dockerd's own containerd): the view's bind source.
  const SOURCE = '/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots/4/fs';

  it("accepts a snapshot directory of the store's snapshotter", () => {
    expect(checkSnapshotDir(storage, image, SOURCE)).toBe(SOURCE);
  });
  it('refuses anything else, and a snapshotter the image does not report', () => {
    expect(() => checkSnapshotDir(storage, image, '/var/lib/docker/overlay2/abc/diff')).toThrow(
      expect.objectContaining({ code: 'E_LAYER_MISMATCH' }),
    );
    expect(() => checkSnapshotDir(storage, image, SOURCE.replace('overlayfs', 'native'))).toThrow(
      expect.objectContaining({ code: 'E_LAYER_MISMATCH' }),
    );
    expect(() => checkSnapshotDir(storage, { ...image, graphDriver: { name: 'stargz', data: null } }, SOURCE)).toThrow(
      expect.objectContaining({ code: 'E_LAYER_MISMATCH', message: expect.stringContaining('stargz') }),
    );
  });
  it('recognises binds at snapshot directories under the engine root only', () => {
    expect(isLayerDir(storage, `/srv/engine${SOURCE}`)).toBe(true);
    expect(isLayerDir(storage, SOURCE)).toBe(false);
    expect(isLayerDir(storage, `/srv/engine${SOURCE.replace('/fs', '/work')}`)).toBe(false);
    expect(isLayerDir(storage, '/srv/engine/var/lib/docker/rootfs/overlayfs/0123abcd')).toBe(false);
    expect(isLayerDir({ ...storage, engineRoot: '/' }, SOURCE)).toBe(true);
  });
});
