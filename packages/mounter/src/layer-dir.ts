import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from './errors.js';

/** What `GET /info` says about where the engine keeps its layers. */
export interface EngineStorageInfo {
  driver: string;
  driverStatus: Array<[string, string]>;
  dockerRootDir: string;
}

/** What `GET /images/{name}/json` says about an image's layers. */
export interface ImageLayerInfo {
  id: string;
  layers: string[];
  graphDriver?: { name: string; data: Record<string, string> | null };
}

/** A storage driver whose layer directories we can bind over. */
export interface LayerStorage {
  driver: 'overlay2' | 'aufs';
  dockerRootDir: string;
}

export type ReadText = (file: string) => Promise<string>;

const readText: ReadText = (file) => readFile(file, 'utf8');

/** Decides whether the engine's storage is one we can work with; refuses the rest, saying what to change. */
export function layerStorageOf(info: EngineStorageInfo): LayerStorage {
  const driverType = info.driverStatus.find(([key]) => key === 'driver-type')?.[1];
  if (driverType === 'io.containerd.snapshotter.v1') {
    throw new MounterError(
      'E_UNSUPPORTED_STORAGE',
      `the engine uses the containerd image store (snapshotter ${info.driver}), whose layer directories docker-cernvm ` +
        `cannot reach yet: set {"features": {"containerd-snapshotter": false}} in /etc/docker/daemon.json and restart dockerd`,
    );
  }
  if (info.driver === 'overlay2' || info.driver === 'aufs') {
    return { driver: info.driver, dockerRootDir: info.dockerRootDir };
  }
  throw new MounterError(
    'E_UNSUPPORTED_STORAGE',
    `the engine uses the ${info.driver || 'unknown'} storage driver; docker-cernvm needs overlay2 (or aufs): ` +
      `set "storage-driver": "overlay2" in /etc/docker/daemon.json and restart dockerd`,
  );
}

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
function layerDirFor(storage: LayerStorage, cacheId: string): string {
  return storage.driver === 'overlay2'
    ? path.join(storage.dockerRootDir, 'overlay2', cacheId, 'diff')
    : path.join(storage.dockerRootDir, 'aufs', 'diff', cacheId);
}

/**
 * The directory holding an image's top layer, read from the engine's layer database and, on overlay2, checked
 * against what the engine reports, so we never bind over a directory the engine does not use for this image.
 */
export async function resolveLayerDir(
  storage: LayerStorage,
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
 * Whether a mount point is a layer directory of this storage. Docker itself mounts only at `<id>/merged`, so a
 * mount at a layer directory is a bind of ours, even when its image is gone.
 */
export function isLayerDir(storage: LayerStorage, mountPoint: string): boolean {
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
