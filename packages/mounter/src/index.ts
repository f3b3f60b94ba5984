// The mounter's library API, for the factory and for scripts.
export { MounterError, type MounterErrorCode } from './errors.js';
export {
  checkRepository,
  checkSnapshot,
  checkRootPath,
  parseImageRef,
  formatImageRef,
  type ImageRef,
} from './names.js';
export {
  LABELS,
  FORMER_REPOSITORY_LABEL,
  LABEL_PREFIX,
  PLACEHOLDER_FILE,
  ROOTFS_LABEL,
  pairFromLabels,
  describePair,
  type PlaceholderPair,
} from './placeholder.js';
export {
  type DockerApi,
  DockerodeApi,
  type ContainerUse,
  type EngineKind,
  askEngineKind,
  engineKindOf,
  type ImageDetails,
  type LabelledContainer,
} from './docker-api.js';
export { type HostCommands, SystemHostCommands } from './host-commands.js';
export { MountOps, type MountOpsOptions } from './mount-ops.js';
export { RepositoryLocator, DEFAULT_REPOSITORY_PATHS, type RepositoryPaths } from './repository.js';
export { type Reporter, silentReporter } from './reporter.js';
export { compareVersions, cernvmVersionOf } from './cernvm-root.js';
export { type LayerStorage, layerStorageOf } from './layer-storage.js';
export { resolveLayerDir, chainId } from './layer-dir.js';
export {
  Mounter,
  DEFAULT_REPOSITORY,
  DEFAULT_ROOT,
  type MountRequest,
  type MountResult,
  type RootRequest,
  type RootResult,
  type RegisterRequest,
  type RegisterResult,
  type StatusReport,
  type RootUse,
  type RootfsStorage,
  type PlaceholderStatus,
  type ImageDescription,
  type SnapshotsReport,
  type PruneResult,
  type UnmountResult,
} from './mounter.js';
export {
  planSetupRepo,
  applySetupRepo,
  DEFAULT_SERVER_URL,
  DEFAULT_KEYS_URL,
  type SetupRepoPlan,
} from './setup-repo.js';
export { createMounter, type CreateMounterOptions } from './create-mounter.js';
// The key prefix of the mounter's temporary containerd views, for tools that look for leftovers.
export { VIEW_KEY_PREFIX } from './containerd-snapshots.js';
