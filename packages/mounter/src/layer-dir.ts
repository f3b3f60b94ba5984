import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from './errors.js';
import type { ContainerdStorage, GraphDriverStorage, LayerStorage } from './layer-storage.js';

/** What `GET /images/{name}/json` says about an image's layers. */
export interface ImageLayerInfo {
  id: string;
  layers: string[];
  graphDriver?: { name: string; data: Record<string, string> | null };
}

export type ReadText = (file: string) => Promise<string>;

const readText: ReadText = (file) => readFile(file, 'utf8');

/** The layer database key of the top layer: chain(L0) = L0, chain(Ln) = sha256(chain(Ln-1) + " " + Ln). */
export function chainId(diffIds: readonly string[]): string {
  if (diffIds.length === 0) throw new Error('an image without layers has no chain id');
  let chain = diffIds[0] as string;
  for (const diffId of diffIds.slice(1)) {
    chain = `sha256:${createHash('sha256').update(`${chain} ${diffId}`).digest('hex')}`;
  }
  return chain;
}

function hexOf(digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a sha256 digest: ${digest}`);
  return hex;
}

/** Where the driver keeps the directory for a cache id. */
function layerDirFor(storage: GraphDriverStorage, cacheId: string): string {
  return storage.driver === 'overlay2'
    ? path.join(storage.dockerRootDir, 'overlay2', cacheId, 'diff')
    : path.join(storage.dockerRootDir, 'aufs', 'diff', cacheId);
}

/**
 * The directory holding an image's top layer, read from the engine's layer database and, on overlay2, checked
 * against what the engine reports, so we never bind over a directory the engine does not use for this image.
 */
export async function resolveLayerDir(
  storage: GraphDriverStorage,
  image: ImageLayerInfo,
  read: ReadText = readText,
): Promise<string> {
  const chain = hexOf(chainId(image.layers));
  const cacheIdFile = path.join(storage.dockerRootDir, 'image', storage.driver, 'layerdb', 'sha256', chain, 'cache-id');
  let cacheId: string;
  try {
    cacheId = (await read(cacheIdFile)).trim();
  } catch (cause) {
    throw new MounterError(
      'E_LAYER_MISMATCH',
      `image ${image.id} has no entry in the layer database (${cacheIdFile}); is the engine's root directory visible here?`,
      { cause },
    );
  }
  if (!/^[0-9a-f]{64}$/.test(cacheId)) {
    throw new MounterError('E_LAYER_MISMATCH', `unexpected cache id ${JSON.stringify(cacheId)} in ${cacheIdFile}`);
  }
  const fromDatabase = layerDirFor(storage, cacheId);
  const reported = image.graphDriver?.data?.UpperDir;
  if (storage.driver === 'overlay2' && reported !== undefined && reported !== fromDatabase) {
    throw new MounterError(
      'E_LAYER_MISMATCH',
      `the engine reports layer directory ${reported} for image ${image.id}, its layer database says ${fromDatabase}`,
    );
  }
  return fromDatabase;
}

/**
 * The directory of a containerd snapshot, checked: it must be `<root>/io.containerd.snapshotter.v1.<name>/snapshots/<n>/fs`
 * of the store's snapshotter, or it is not a layer directory we may bind over.
 */
export function checkSnapshotDir(storage: ContainerdStorage, image: ImageLayerInfo, dir: string): string {
  if (!snapshotDirPattern(storage.driver, '').test(dir)) {
    throw new MounterError(
      'E_LAYER_MISMATCH',
      `containerd reports ${dir} for image ${image.id}, which is not a snapshot directory of the ${storage.driver} snapshotter`,
    );
  }
  const reported = image.graphDriver?.name;
  if (reported && reported !== storage.driver) {
    throw new MounterError(
      'E_LAYER_MISMATCH',
      `the engine reports snapshotter ${reported} for image ${image.id}, its information says ${storage.driver}`,
    );
  }
  return dir;
}

function snapshotDirPattern(snapshotter: string, under: string): RegExp {
  return new RegExp(
    `^${escapeRegExp(under)}(/.*)?/io\\.containerd\\.snapshotter\\.v1\\.${escapeRegExp(snapshotter)}/snapshots/[0-9]+/fs$`,
  );
}

/**
 * Whether a mount point is a layer directory of this storage. Docker itself mounts only at `<id>/merged` (overlay2)
 * or at a container's own rootfs directory (containerd), so a mount at a layer directory is a bind of ours, even
 * when its image is gone. For containerd, any snapshot directory under the engine's root (the engine does not
 * show containerd's root directory).
 */
export function isLayerDir(storage: LayerStorage, mountPoint: string): boolean {
  if (storage.store === 'containerd') {
    return snapshotDirPattern(storage.driver, storage.engineRoot.replace(/\/+$/, '')).test(mountPoint);
  }
  const root = storage.dockerRootDir.replace(/\/+$/, '');
  const pattern =
    storage.driver === 'overlay2'
      ? new RegExp(`^${escapeRegExp(root)}/overlay2/[0-9a-f]{64}/diff$`)
      : new RegExp(`^${escapeRegExp(root)}/aufs/diff/[0-9a-f]{64}$`);
  return pattern.test(mountPoint);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
