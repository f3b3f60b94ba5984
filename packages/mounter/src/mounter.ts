import { stat } from 'node:fs/promises';
import path from 'node:path';
import { decideBind, describeUsers } from './bind-rules.js';
import { cernvmVersionOf, resolveCernvmRoot } from './cernvm-root.js';
import type { ContainerUse, DockerApi, ImageDetails } from './docker-api.js';
import { MounterError } from './errors.js';
import { isDisconnected } from './fs-checks.js';
import { type ContainerdSnapshots, DEFAULT_CONTAINERD_SOCKETS, type SnapshotLocation } from './containerd-snapshots.js';
import { EngineRoot } from './engine-root.js';
import { type ImageLayerInfo, chainId, checkSnapshotDir, isLayerDir, resolveLayerDir } from './layer-dir.js';
import { type ContainerdStorage, type LayerStorage, layerStorageOf } from './layer-storage.js';
import type { MountOps } from './mount-ops.js';
import {
  type MountEntry,
  identityOfMount,
  identityOfPath,
  isReadOnly,
  isWithin,
  mountAt,
  sameIdentity,
  sourcePathOf,
} from './mountinfo.js';
import { checkRepository, checkRootPath, checkSnapshot, formatImageRef, parseImageRef } from './names.js';
import {
  type PlaceholderPair,
  ROOTFS_LABEL,
  describePair,
  placeholderPairOf,
  placeholderBuildContext,
  placeholderLabels,
  samePair,
} from './placeholder.js';
import { type Reporter, silentReporter } from './reporter.js';
import type { RepositoryLocator, RepositoryMount, Undo } from './repository.js';

export const DEFAULT_REPOSITORY = 'cernvm-prod.cern.ch';
export const DEFAULT_ROOT = 'cvm4';

export interface RegisterRequest {
  tag: string;
  repository?: string;
  snapshot?: string;
}

export interface RegisterResult {
  imageId: string;
  tag: string;
  pair: PlaceholderPair;
  created: boolean;
}

export interface MountRequest {
  tag: string;
  /** Defaults to the placeholder's own repository, or cernvm-prod.cern.ch for a new one. */
  repository?: string;
  snapshot?: string;
  /** `cvm4` (default), `cvm3`, or a sub-path of the repository. */
  root?: string;
}

export interface RootRequest {
  /** cernvm-prod.cern.ch by default. */
  repository?: string;
  snapshot?: string;
  /** `cvm4` (default), `cvm3`, or a sub-path of the repository. */
  root?: string;
}

export interface RootResult {
  pair: PlaceholderPair;
  /** The root's real path, inside the repository. */
  rootDir: string;
  /** `cernvm-system-<version>` from the root's marker, else the snapshot's name. */
  version: string | undefined;
}

export interface MountResult {
  imageId: string;
  tag: string;
  pair: PlaceholderPair;
  layerDir: string;
  rootDir: string;
  action: 'mounted' | 'remounted' | 'unchanged' | 'made-read-only';
  /** `cernvm-system-<version>` from the root's marker, else the snapshot's name. */
  version: string | undefined;
}

export interface BoundSource {
  source: string | undefined;
  readOnly: boolean;
  /** The bound directory was deleted from its file system. */
  deleted: boolean;
  /** The bound root's FUSE client has died (ENOTCONN): containers from this image cannot run. */
  disconnected?: boolean;
}

export interface PlaceholderStatus {
  imageId: string;
  tags: string[];
  pair: PlaceholderPair;
  layerDir: string;
  bound: BoundSource | undefined;
  version: string | undefined;
  containers: ContainerUse[];
}

/** What a tag names, from one inspect: nothing, an ordinary image, or a placeholder and what is mounted over it. */
export type ImageDescription =
  { kind: 'missing' } | { kind: 'ordinary' } | { kind: 'placeholder'; placeholder: PlaceholderStatus };

/** Podman's storage: slots run from CernVM roots themselves (rootfs), so no layer is ever bound over. */
export interface RootfsStorage {
  store: 'rootfs';
  engine: 'podman';
}

/** A CernVM root that containers run from as their own root (podman's rootfs), and those containers. */
export interface RootUse {
  rootDir: string;
  version: string | undefined;
  /** The root's FUSE client has died (ENOTCONN): its containers cannot read their own root. */
  disconnected: boolean;
  containers: ContainerUse[];
}

export interface StatusReport {
  storage: LayerStorage | RootfsStorage;
  placeholders: PlaceholderStatus[];
  /** Binds at layer directories whose image is gone. */
  orphanBinds: Array<{ layerDir: string } & BoundSource>;
  /** On podman: the CernVM roots slots run from. Empty on Docker, whose slots run from placeholders. */
  roots: RootUse[];
  repositories: RepositoryMount[];
}

export interface UnmountResult {
  unboundLayers: string[];
  unmountedRepositories: string[];
}

export interface SnapshotsReport {
  repository: string;
  repositoryDir: string;
  /** undefined when the repository publishes no snapshot directory. */
  available: string[] | undefined;
  mounted: Array<{ tags: string[]; snapshot: string | undefined; version: string | undefined }>;
}

export interface PruneResult {
  removed: Array<{ imageId: string; tags: string[] }>;
  /** Placeholders the engine would not remove (for example, images were built on them). */
  failed: Array<{ imageId: string; tags: string[]; reason: string }>;
  kept: number;
}

/** A placeholder image, what it stands for, and the layer directory a root is bound over. */
interface PlaceholderLayer {
  image: ImageDetails;
  pair: PlaceholderPair;
  layerDir: string;
}

export interface MounterDeps {
  docker: DockerApi;
  mounts: MountOps;
  repositories: RepositoryLocator;
  reporter?: Reporter;
  /** How layers of the containerd image store are found (through `ctr`); needed only with that store. */
  containerd?: ContainerdSnapshots;
  /** The engine's file system on this host; `/` unless dockerd runs in a chroot. */
  engineRoot?: EngineRoot;
  /** containerd's socket as a host path, instead of the engine's word or the known defaults. */
  containerdSocket?: string;
}

const MOUNT_ACTIONS = {
  mount: 'mounted',
  remount: 'remounted',
  unchanged: 'unchanged',
  'make-read-only': 'made-read-only',
} as const;

/** Runs a request's side effects so that a failure takes back, newest first, what the request did. */
async function withUndo<T>(work: (undo: Undo) => Promise<T>): Promise<T> {
  const actions: Array<() => Promise<void>> = [];
  try {
    return await work((action) => actions.push(action));
  } catch (error) {
    for (const action of actions.reverse()) await action().catch(() => undefined);
    throw error;
  }
}

function boundSource(table: readonly MountEntry[], entry: MountEntry): BoundSource {
  return { source: sourcePathOf(table, entry), readOnly: isReadOnly(entry), deleted: entry.deleted };
}

/** Registers placeholder images and binds CernVM roots from CernVM-FS over their layers. */
export class Mounter {
  private readonly docker: DockerApi;
  private readonly mounts: MountOps;
  private readonly repositories: RepositoryLocator;
  private readonly reporter: Reporter;
  private readonly containerd: ContainerdSnapshots | undefined;
  private readonly engineRoot: EngineRoot;
  private readonly containerdSocket: string | undefined;

  constructor(deps: MounterDeps) {
    this.docker = deps.docker;
    this.mounts = deps.mounts;
    this.repositories = deps.repositories;
    this.reporter = deps.reporter ?? silentReporter;
    this.containerd = deps.containerd;
    this.engineRoot = deps.engineRoot ?? new EngineRoot('/');
    this.containerdSocket = deps.containerdSocket;
  }

  /** The engine's layer storage, with the paths it reports resolved as the kernel's mount table shows them here. */
  async storage(): Promise<LayerStorage> {
    await this.refuseOnPodman();
    const storage = layerStorageOf(await this.docker.storageInfo());
    const dockerRootDir = await this.engineRoot.hostPath(storage.dockerRootDir);
    if (storage.store === 'graphdriver') return { ...storage, dockerRootDir };
    return {
      ...storage,
      dockerRootDir,
      containerdAddress: await this.containerdSocketOf(storage.containerdAddress),
      engineRoot: await this.engineRoot.hostPath('/'),
    };
  }

  /** Placeholders are Docker's: on podman a slot's root is the CernVM root itself. */
  private async refuseOnPodman(): Promise<void> {
    if ((await this.docker.engine()) === 'podman') {
      throw new MounterError(
        'E_UNSUPPORTED_STORAGE',
        'podman runs slots from the CernVM root itself, so docker-cernvm makes no placeholder there: ' +
          "name the root in the factory's configuration, cernvm: {repository, snapshot, root} (docs/podman.md)",
      );
    }
  }

  /** The socket of the containerd that holds the engine's images, as a host path. */
  private async containerdSocketOf(reported: string | undefined): Promise<string> {
    if (this.containerdSocket) return this.containerdSocket;
    const candidates = reported ? [reported] : DEFAULT_CONTAINERD_SOCKETS;
    for (const candidate of candidates) {
      const hostPath = await this.engineRoot.hostPath(candidate).catch(() => undefined);
      if (
        hostPath &&
        (await stat(hostPath).then(
          (s) => s.isSocket(),
          () => false,
        ))
      )
        return hostPath;
    }
    throw new MounterError(
      'E_NO_CONTAINERD',
      `the engine uses the containerd image store and no containerd socket is here ` +
        `(looked for ${candidates.map((c) => this.engineRoot.joined(c)).join(', ')}): pass --containerd-socket with ` +
        `the socket dockerd uses (its --containerd setting), or --engine-root DIR when dockerd runs chrooted in DIR`,
    );
  }

  /** The directory holding an image's top layer, as a host path, whichever image store the engine uses. */
  private async layerDirOf(storage: LayerStorage, image: ImageLayerInfo): Promise<string> {
    if (storage.store === 'graphdriver') return resolveLayerDir(storage, image);
    const { snapshots, location } = this.containerdAccess(storage);
    if (image.layers.length === 0) throw new MounterError('E_LAYER_MISMATCH', `image ${image.id} has no layers`);
    const dir = await snapshots.directoryOf(location, chainId(image.layers));
    return this.engineRoot.hostPath(checkSnapshotDir(storage, image, dir));
  }

  private containerdAccess(storage: ContainerdStorage): { snapshots: ContainerdSnapshots; location: SnapshotLocation } {
    if (!this.containerd || !storage.containerdAddress) {
      throw new MounterError(
        'E_NO_CONTAINERD',
        'the engine uses the containerd image store and this mounter was made without containerd access',
      );
    }
    return {
      snapshots: this.containerd,
      location: { address: storage.containerdAddress, namespace: storage.namespace, snapshotter: storage.driver },
    };
  }

  async register(request: RegisterRequest): Promise<RegisterResult> {
    const ref = formatImageRef(parseImageRef(request.tag));
    // As in mount: an empty --snapshot is a bad name, not "no snapshot".
    if (request.snapshot !== undefined) checkSnapshot(request.snapshot);
    const pair = this.pairOf(request.repository ?? DEFAULT_REPOSITORY, request.snapshot);
    await this.refuseOnPodman();
    const existing = await this.docker.inspectImage(ref);
    if (existing) {
      const existingPair = this.placeholderPair(ref, existing);
      if (samePair(existingPair, pair)) return { imageId: existing.id, tag: ref, pair, created: false };
      await this.refuseIfBound(ref, existing, `it stands for ${describePair(existingPair)}`);
    }
    const imageId = await this.reporter.step(`Registering placeholder ${ref} for ${describePair(pair)}`, async () =>
      this.docker.buildImage(await placeholderBuildContext(pair), ref, placeholderLabels(pair)),
    );
    if (existing && existing.id !== imageId) await this.removeIfUnused(existing);
    return { imageId, tag: ref, pair, created: true };
  }

  async mount(request: MountRequest): Promise<MountResult> {
    const ref = formatImageRef(parseImageRef(request.tag));
    if (request.repository !== undefined) checkRepository(request.repository);
    if (request.snapshot !== undefined) checkSnapshot(request.snapshot);
    const root = checkRootPath(request.root ?? DEFAULT_ROOT);
    const storage = await this.storage();

    const existing = await this.docker.inspectImage(ref);
    const pair = existing
      ? this.placeholderPair(ref, existing)
      : this.pairOf(request.repository ?? DEFAULT_REPOSITORY, request.snapshot);
    const wantedPair = this.pairOf(request.repository ?? pair.repository, request.snapshot ?? pair.snapshot);
    if (!samePair(pair, wantedPair)) {
      throw new MounterError(
        'E_PAIR_MISMATCH',
        `${ref} is the placeholder for ${describePair(pair)}, not ${describePair(wantedPair)}: ` +
          `register another tag for ${describePair(wantedPair)}`,
      );
    }

    return withUndo(async (undo) => {
      let image = existing;
      if (!image) {
        // A placeholder registered for this request goes again if the request fails.
        const { imageId, created } = await this.register({
          tag: ref,
          repository: pair.repository,
          snapshot: pair.snapshot,
        });
        // Only the tag: the engine may have reused an image another tag shares (its build cache).
        if (created) undo(() => this.docker.untag(ref));
        image = await this.docker.inspectImage(imageId);
        if (!image) throw new MounterError('E_NO_IMAGE', `${ref} vanished right after it was registered`);
      }
      const imageId = image.id;
      const layerDir = await this.layerDirOf(storage, image);
      const rootDir = await this.rootDirOf(pair, root, undo);

      const table = await this.mounts.table();
      const wanted = identityOfPath(table, rootDir);
      if (!wanted) throw new MounterError('E_NO_CERNVM_ROOT', `no mount holds ${rootDir}`);
      const current = mountAt(table, layerDir);
      const users = current ? await this.layerUsers(storage, layerDir) : [];
      const decision = decideBind(current, wanted, users);
      const label = `Binding ${rootDir} over ${ref}`;
      switch (decision.kind) {
        case 'refuse':
          throw new MounterError(
            'E_MOUNT_BUSY',
            `${ref} shows another CernVM root and containers use it: ${describeUsers(decision.users)}; ` +
              `stop and remove them first`,
          );
        case 'mount':
          await this.reporter.step(label, () => this.mounts.bindReadOnly(rootDir, layerDir));
          undo(() => this.mounts.unmountAll(layerDir));
          break;
        case 'remount':
          await this.reporter.step(label, async () => {
            await this.mounts.unmountAll(layerDir);
            await this.mounts.bindReadOnly(rootDir, layerDir);
          });
          undo(() => this.mounts.unmountAll(layerDir));
          break;
        case 'make-read-only':
          await this.reporter.step(`Making ${layerDir} read-only`, () => this.mounts.makeReadOnly(layerDir));
          break;
        case 'unchanged':
          break;
      }
      await this.verifyBind(layerDir, rootDir);
      const version = (await cernvmVersionOf(rootDir)) ?? pair.snapshot;
      return { imageId, tag: ref, pair, layerDir, rootDir, action: MOUNT_ACTIONS[decision.kind], version };
    });
  }

  /** Unbinds every placeholder of ours (or of one repository), then our repository mounts; refuses while in use. */
  async unmountAll(options: { repository?: string } = {}): Promise<UnmountResult> {
    if (options.repository !== undefined) checkRepository(options.repository);
    if ((await this.docker.engine()) === 'podman') {
      // Podman's slots have no placeholder: they run from roots inside the repository mounts themselves.
      const repositories = this.ourRepositoryMounts(await this.mounts.table(), options.repository);
      await this.refuseIfRootsInUse(repositories);
      return { unboundLayers: [], unmountedRepositories: await this.unmountRepositories(repositories) };
    }
    const storage = await this.storage();
    const table = await this.mounts.table();
    const placeholders = await this.placeholderLayers(storage);
    const selected = placeholders.filter((p) => !options.repository || p.pair.repository === options.repository);
    const orphans = options.repository ? [] : this.orphanLayerDirs(storage, table, placeholders);
    const unboundLayers = await this.unbindLayers(storage, table, placeholders, selected, orphans);
    const repositories = this.ourRepositoryMounts(await this.mounts.table(), options.repository);
    return { unboundLayers, unmountedRepositories: await this.unmountRepositories(repositories) };
  }

  /** Our repository and snapshot mounts (of one repository, if named), snapshots first. */
  private ourRepositoryMounts(table: readonly MountEntry[], repository: string | undefined): RepositoryMount[] {
    return (
      this.repositories
        .repositoryMounts(table)
        .filter((r) => !repository || r.repository === repository)
        // Snapshot mounts first: nothing of ours stacks on them, but the main mount reads more naturally last.
        .sort((a, b) => Number(!a.snapshot) - Number(!b.snapshot))
    );
  }

  /** On podman: refuses while a slot, running or stopped, has its root inside one of these mounts. */
  private async refuseIfRootsInUse(repositories: readonly RepositoryMount[]): Promise<void> {
    const users = (await this.docker.containersLabelled(ROOTFS_LABEL)).filter(({ labels }) =>
      repositories.some((r) => isWithin(labels[ROOTFS_LABEL] ?? '', r.mountPoint)),
    );
    if (users.length) {
      throw new MounterError(
        'E_MOUNT_BUSY',
        `refusing to unmount, containers run from CernVM roots in these mounts: ${describeUsers(users)}; ` +
          'stop and remove them first',
      );
    }
  }

  private async unmountRepositories(repositories: readonly RepositoryMount[]): Promise<string[]> {
    const unmountedRepositories: string[] = [];
    for (const mount of repositories) {
      const label = `Unmounting CernVM ${mount.snapshot ? `snapshot ${mount.snapshot}` : 'repository'} ${mount.repository}`;
      await this.reporter.step(label, () => this.mounts.unmountAll(mount.mountPoint));
      unmountedRepositories.push(mount.mountPoint);
    }
    return unmountedRepositories;
  }

  /**
   * Unbinds the one placeholder tagged so (an old snapshot after a roll), refusing while in use; the repository
   * mounts stay for the rest. With `repository`, only a placeholder standing for that repository qualifies.
   */
  async unmountImage(tag: string, options: { repository?: string } = {}): Promise<UnmountResult> {
    if (options.repository !== undefined) checkRepository(options.repository);
    const ref = formatImageRef(parseImageRef(tag));
    const storage = await this.storage();
    const table = await this.mounts.table();
    const placeholders = await this.placeholderLayers(storage);
    const selected = placeholders.filter(
      (p) => p.image.tags.includes(ref) && (!options.repository || p.pair.repository === options.repository),
    );
    if (selected.length === 0) throw new MounterError('E_NO_IMAGE', `no docker-cernvm placeholder is tagged ${ref}`);
    return {
      unboundLayers: await this.unbindLayers(storage, table, placeholders, selected, []),
      unmountedRepositories: [],
    };
  }

  async status(): Promise<StatusReport> {
    if ((await this.docker.engine()) === 'podman') return this.rootfsStatus();
    const storage = await this.storage();
    const table = await this.mounts.table();
    const placeholders = await this.placeholderLayers(storage);
    const statuses = await Promise.all(placeholders.map((p) => this.placeholderStatus(p, table)));
    const orphanBinds = await Promise.all(
      this.orphanLayerDirs(storage, table, placeholders).map(async (layerDir) => ({
        layerDir,
        ...boundSource(table, mountAt(table, layerDir) as MountEntry),
        disconnected: await isDisconnected(layerDir),
      })),
    );
    return {
      storage,
      placeholders: statuses,
      orphanBinds,
      roots: [],
      repositories: this.repositories.repositoryMounts(table),
    };
  }

  /** Podman's status: the roots slots run from, found by the label the factory gives them, and our mounts. */
  private async rootfsStatus(): Promise<StatusReport> {
    const byRoot = new Map<string, ContainerUse[]>();
    for (const { labels, ...container } of await this.docker.containersLabelled(ROOTFS_LABEL)) {
      const rootDir = labels[ROOTFS_LABEL] ?? '';
      byRoot.set(rootDir, [...(byRoot.get(rootDir) ?? []), container]);
    }
    const roots = await Promise.all(
      [...byRoot].map(async ([rootDir, containers]) => {
        const disconnected = await isDisconnected(rootDir);
        return {
          rootDir,
          version: disconnected ? undefined : await cernvmVersionOf(rootDir),
          disconnected,
          containers,
        };
      }),
    );
    return {
      storage: { store: 'rootfs', engine: 'podman' },
      placeholders: [],
      orphanBinds: [],
      roots: roots.sort((a, b) => a.rootDir.localeCompare(b.rootDir)),
      repositories: this.repositories.repositoryMounts(await this.mounts.table()),
    };
  }

  async snapshots(repository: string): Promise<SnapshotsReport> {
    checkRepository(repository);
    const storage = (await this.docker.engine()) === 'podman' ? undefined : await this.storage();
    const table = await this.mounts.table();
    const repositoryDir = await this.repositories.find(repository, table);
    if (!repositoryDir) {
      throw new MounterError(
        'E_NO_REPOSITORY',
        `${repository} is not mounted: neither ${this.repositories.paths.cvmfsDir}/${repository} nor ` +
          `${this.repositories.staticMountPoint(repository)} shows it; ` +
          (storage ? 'run docker-cernvm mount first' : 'a factory naming it in cernvm: mounts it'),
      );
    }
    const available = await this.repositories.listSnapshots(repositoryDir);
    if (!storage) {
      const pinned = this.ourRepositoryMounts(table, repository).filter((m) => m.snapshot);
      return {
        repository,
        repositoryDir,
        available,
        mounted: await this.snapshotsInUse(repositoryDir, available, pinned),
      };
    }
    const placeholders = await this.placeholderLayers(storage);
    const mounted = await Promise.all(
      placeholders
        .filter((p) => p.pair.repository === repository && mountAt(table, p.layerDir))
        .map(async (p) => ({
          tags: p.image.tags,
          snapshot: p.pair.snapshot,
          version: await cernvmVersionOf(p.layerDir),
        })),
    );
    return { repository, repositoryDir, available, mounted };
  }

  /**
   * On podman: the snapshots (undefined: the repository's current state) that slots run from, with no tags. A root is
   * in a published snapshot's directory, in a private mount pinned to a snapshot, or in the repository itself.
   */
  private async snapshotsInUse(
    repositoryDir: string,
    available: string[] | undefined,
    pinned: readonly RepositoryMount[],
  ): Promise<SnapshotsReport['mounted']> {
    const snapshotsDir = path.join(repositoryDir, '.cvmfs', 'snapshots');
    const inUse = new Map<string, SnapshotsReport['mounted'][number]>();
    for (const { labels } of await this.docker.containersLabelled(ROOTFS_LABEL)) {
      const rootDir = labels[ROOTFS_LABEL] ?? '';
      const [published] = path.relative(snapshotsDir, rootDir).split(path.sep);
      const snapshot = available?.includes(published ?? '')
        ? published
        : pinned.find((m) => isWithin(rootDir, m.mountPoint))?.snapshot;
      if (!snapshot && !isWithin(rootDir, repositoryDir)) continue;
      inUse.set(snapshot ?? '', { tags: [], snapshot, version: await cernvmVersionOf(rootDir) });
    }
    return [...inUse.values()];
  }

  /** Removes placeholders that are neither bound nor used by any container. */
  async prune(): Promise<PruneResult> {
    // Podman's slots need no placeholder, so there is none to remove.
    if ((await this.docker.engine()) === 'podman') return { removed: [], failed: [], kept: 0 };
    const storage = await this.storage();
    if (storage.store === 'containerd') {
      const { snapshots, location } = this.containerdAccess(storage);
      await snapshots.removeStaleViews(location);
    }
    const table = await this.mounts.table();
    const removed: PruneResult['removed'] = [];
    const failed: PruneResult['failed'] = [];
    const placeholders = await this.placeholderLayers(storage);
    for (const { image, layerDir } of placeholders) {
      if (mountAt(table, layerDir)) continue;
      if ((await this.docker.containersUsing(image.id)).length) continue;
      try {
        await this.reporter.step(`Removing ${image.tags[0] ?? image.id}`, () => this.docker.removeImage(image.id));
        removed.push({ imageId: image.id, tags: image.tags });
      } catch (error) {
        failed.push({ imageId: image.id, tags: image.tags, reason: (error as Error).message });
      }
    }
    return { removed, failed, kept: placeholders.length - removed.length };
  }

  /** Is this image a placeholder, and with a CernVM root bound? undefined for an ordinary image or none. */
  async inspectPlaceholder(tag: string): Promise<PlaceholderStatus | undefined> {
    const described = await this.describeImage(tag);
    return described.kind === 'placeholder' ? described.placeholder : undefined;
  }

  /**
   * What the factory asks before it starts slots: does the image exist, and is it a placeholder with a CernVM root
   * bound? One inspect answers both for an ordinary image, the first container's wait at every start.
   */
  async describeImage(tag: string): Promise<ImageDescription> {
    const ref = formatImageRef(parseImageRef(tag));
    const image = await this.docker.inspectImage(ref);
    if (!image) return { kind: 'missing' };
    const pair = placeholderPairOf(image);
    if (!pair) return { kind: 'ordinary' };
    const layerDir = await this.layerDirOf(await this.storage(), image);
    return {
      kind: 'placeholder',
      placeholder: await this.placeholderStatus({ image, pair, layerDir }, await this.mounts.table()),
    };
  }

  private async placeholderStatus(
    { image, pair, layerDir }: PlaceholderLayer,
    table: readonly MountEntry[],
  ): Promise<PlaceholderStatus> {
    const entry = mountAt(table, layerDir);
    return {
      imageId: image.id,
      tags: image.tags,
      pair,
      layerDir,
      bound: entry ? { ...boundSource(table, entry), disconnected: await isDisconnected(layerDir) } : undefined,
      version: entry ? await cernvmVersionOf(layerDir) : undefined,
      containers: await this.docker.containersUsing(image.id),
    };
  }

  /**
   * A CernVM root as a directory on the host, with no placeholder: what an engine that runs a container from a root
   * directory (podman's `rootfs`) needs. The repository and snapshot are mounted as for `mount`, and stay mounted.
   */
  async resolveRoot(request: RootRequest = {}): Promise<RootResult> {
    const pair = this.pairOf(request.repository ?? DEFAULT_REPOSITORY, request.snapshot);
    const root = checkRootPath(request.root ?? DEFAULT_ROOT);
    return withUndo(async (undo) => {
      const rootDir = await this.rootDirOf(pair, root, undo);
      return { pair, rootDir, version: (await cernvmVersionOf(rootDir)) ?? pair.snapshot };
    });
  }

  /**
   * The snapshots a repository publishes (undefined: it has no snapshot directory), oldest first, mounting the
   * repository as resolveRoot does and asking the engine nothing: what a podman factory follows.
   */
  async publishedSnapshots(repository: string = DEFAULT_REPOSITORY): Promise<string[] | undefined> {
    checkRepository(repository);
    return withUndo(async (undo) => this.repositories.listSnapshots(await this.repositories.ensure(repository, undo)));
  }

  /** The repository mounted (and the snapshot, if any), then the root inside it. */
  private async rootDirOf(pair: PlaceholderPair, root: string, undo: Undo): Promise<string> {
    const repositoryDir = await this.reporter.step(`Mounting main CernVM repository ${pair.repository}`, () =>
      this.repositories.ensure(pair.repository, undo),
    );
    const snapshot = pair.snapshot;
    const baseDir = snapshot
      ? await this.reporter.step(`Mounting CernVM snapshot ${snapshot}`, () =>
          this.repositories.ensureSnapshot(pair.repository, repositoryDir, snapshot, undo),
        )
      : repositoryDir;
    return resolveCernvmRoot(baseDir, root);
  }

  private pairOf(repository: string, snapshot: string | undefined): PlaceholderPair {
    checkRepository(repository);
    return snapshot === undefined || snapshot === ''
      ? { repository }
      : { repository, snapshot: checkSnapshot(snapshot) };
  }

  private placeholderPair(ref: string, image: ImageDetails): PlaceholderPair {
    const pair = placeholderPairOf(image);
    if (!pair) {
      throw new MounterError(
        'E_NOT_PLACEHOLDER',
        `${ref} exists and is not a docker-cernvm placeholder; choose another tag`,
      );
    }
    return pair;
  }

  private async refuseIfBound(ref: string, image: ImageDetails, why: string): Promise<void> {
    const layerDir = await this.layerDirOf(await this.storage(), image);
    const bound = mountAt(await this.mounts.table(), layerDir);
    const users = await this.docker.containersUsing(image.id);
    if (bound || users.length) {
      throw new MounterError(
        'E_TAG_IN_USE',
        `${ref} is already registered and ${bound ? 'mounted' : 'in use'} (${why}): ` +
          (users.length ? `used by ${describeUsers(users)}; ` : '') +
          'unmount it or choose another tag',
      );
    }
  }

  private async removeIfUnused(image: ImageDetails): Promise<void> {
    const after = await this.docker.inspectImage(image.id);
    if (after && after.tags.length === 0 && (await this.docker.containersUsing(image.id)).length === 0) {
      await this.docker.removeImage(image.id);
    }
  }

  private async verifyBind(layerDir: string, rootDir: string): Promise<void> {
    const table = await this.mounts.table();
    const entry = mountAt(table, layerDir);
    if (!entry || !sameIdentity(identityOfMount(entry), identityOfPath(table, rootDir)) || !isReadOnly(entry)) {
      throw new MounterError('E_COMMAND_FAILED', `after binding, ${layerDir} does not show ${rootDir} read-only`);
    }
  }

  /** Unbinds the bound ones of these placeholders and the orphaned layer directories; refuses first if any is in use. */
  private async unbindLayers(
    storage: LayerStorage,
    table: readonly MountEntry[],
    placeholders: readonly PlaceholderLayer[],
    selected: readonly PlaceholderLayer[],
    orphans: readonly string[],
  ): Promise<string[]> {
    const bound = selected.filter((p) => mountAt(table, p.layerDir));
    const busy: string[] = [];
    for (const placeholder of bound) {
      const users = await this.layerUsers(storage, placeholder.layerDir, placeholders);
      if (users.length) busy.push(`${placeholder.image.tags[0] ?? placeholder.image.id}: ${describeUsers(users)}`);
    }
    if (busy.length) {
      throw new MounterError(
        'E_MOUNT_BUSY',
        `refusing to unmount, containers use CernVM roots: ${busy.join('; ')}; stop and remove them first`,
      );
    }
    const unboundLayers: string[] = [];
    for (const layerDir of [...bound.map((p) => p.layerDir), ...orphans]) {
      await this.reporter.step(`Unmounting ${layerDir}`, () => this.mounts.unmountAll(layerDir));
      unboundLayers.push(layerDir);
    }
    return unboundLayers;
  }

  /** Layer directories with a bind of ours whose placeholder image is gone. */
  private orphanLayerDirs(
    storage: LayerStorage,
    table: readonly MountEntry[],
    placeholders: ReadonlyArray<{ layerDir: string }>,
  ): string[] {
    const known = new Set(placeholders.map((p) => p.layerDir));
    const bound = new Set(table.map((entry) => entry.mountPoint));
    return [...bound].filter((mountPoint) => isLayerDir(storage, mountPoint) && !known.has(mountPoint));
  }

  private async placeholderLayers(storage: LayerStorage): Promise<PlaceholderLayer[]> {
    const images = await this.docker.listPlaceholders();
    const placeholders = images.flatMap((image) => {
      const pair = placeholderPairOf(image);
      return pair ? [{ image, pair }] : [];
    });
    return Promise.all(
      placeholders.map(async ({ image, pair }) => ({ image, pair, layerDir: await this.layerDirOf(storage, image) })),
    );
  }

  /**
   * Containers whose root includes this layer directory: those of every placeholder sharing it (the engine
   * shares a layer between images with identical content) and of images built on them.
   */
  private async layerUsers(
    storage: LayerStorage,
    layerDir: string,
    known?: ReadonlyArray<{ image: ImageDetails; layerDir: string }>,
  ): Promise<ContainerUse[]> {
    const placeholders = known ?? (await this.placeholderLayers(storage));
    const sharing = placeholders.filter((p) => p.layerDir === layerDir);
    const users = await Promise.all(sharing.map((p) => this.docker.containersUsing(p.image.id)));
    return [...new Map(users.flat().map((user) => [user.id, user])).values()];
  }
}
