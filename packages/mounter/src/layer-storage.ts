import { MOBY_NAMESPACE } from './containerd-snapshots.js';
import { MounterError } from './errors.js';

/** What `GET /info` says about where the engine keeps its layers. */
export interface EngineStorageInfo {
  driver: string;
  driverStatus: Array<[string, string]>;
  dockerRootDir: string;
  /** `Containerd.Address`, shown from API 1.46 on: the containerd the image store lives in. */
  containerdAddress?: string;
  /** `Containerd.Namespaces.Containers`, shown from API 1.46 on. */
  containerdNamespace?: string;
}

/** A graph driver whose layer directories we can bind over (the classic image store). */
export interface GraphDriverStorage {
  store: 'graphdriver';
  driver: 'overlay2' | 'aufs';
  dockerRootDir: string;
}

/** The containerd image store: layers are containerd snapshots, reached through containerd itself. */
export interface ContainerdStorage {
  store: 'containerd';
  /** The snapshotter's name (`overlayfs`). */
  driver: string;
  dockerRootDir: string;
  /** containerd's socket: the engine's own word for it (API ≥ 1.46), else chosen among the known defaults. */
  containerdAddress: string | undefined;
  namespace: string;
  /** The engine's file system on this host (`/` unless dockerd runs in a chroot): snapshot directories are under it. */
  engineRoot: string;
}

/** Where the engine keeps layers, in a form we can bind over. */
export type LayerStorage = GraphDriverStorage | ContainerdStorage;

/** Decides whether the engine's storage is one we can work with; refuses the rest, saying what to change. */
export function layerStorageOf(info: EngineStorageInfo): LayerStorage {
  const driverType = info.driverStatus.find(([key]) => key === 'driver-type')?.[1];
  if (driverType === 'io.containerd.snapshotter.v1') {
    // Only the overlayfs snapshotter keeps each layer as a plain directory we can bind over.
    if (info.driver !== CONTAINERD_SNAPSHOTTER) {
      throw new MounterError(
        'E_UNSUPPORTED_STORAGE',
        `the engine uses the containerd image store with the ${info.driver || 'unknown'} snapshotter; docker-cernvm ` +
          `needs the overlayfs snapshotter (the default), or the overlay2 storage driver`,
      );
    }
    return {
      store: 'containerd',
      driver: info.driver,
      dockerRootDir: info.dockerRootDir,
      containerdAddress: info.containerdAddress || undefined,
      namespace: info.containerdNamespace || MOBY_NAMESPACE,
      engineRoot: '/',
    };
  }
  if (info.driver === 'overlay2' || info.driver === 'aufs') {
    return { store: 'graphdriver', driver: info.driver, dockerRootDir: info.dockerRootDir };
  }
  throw new MounterError(
    'E_UNSUPPORTED_STORAGE',
    `the engine uses the ${info.driver || 'unknown'} storage driver; docker-cernvm needs overlay2 (or aufs): ` +
      `set "storage-driver": "overlay2" in /etc/docker/daemon.json and restart dockerd ` +
      `(or use the containerd image store with its overlayfs snapshotter)`,
  );
}

/** The one snapshotter of the containerd image store whose layers are directories. */
export const CONTAINERD_SNAPSHOTTER = 'overlayfs';
