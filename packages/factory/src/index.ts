export { FactoryError, type FactoryErrorCode } from './errors.js';
export { LABELS, slotLabels, slotOf, slotContainerName } from './labels.js';
export { FACTORY_VERSION } from './version.js';
export { type Clock, systemClock } from './clock.js';
export { reconcile, type Action, type DesiredState, type ObservedContainer, type ReconcileInput } from './reconcile.js';
export { afterExit, type SlotBackoff, BACKOFF_BASE_MS, BACKOFF_MAX_MS, BACKOFF_RESET_AFTER_MS } from './backoff.js';
export { factoryConfigSchema, checkFactoryConfig, CONFIG_DEFAULTS, type FactoryConfig } from './config.js';
export { loadFactoryConfig, envVariableOf, flagOf, SCALAR_KEYS, type ConfigLayers } from './load-config.js';
export {
  templateOf,
  templateHash,
  slotPilotOptions,
  cpusetOf,
  slotContainerOptions,
  type SlotTemplate,
} from './template.js';
export { DockerodeRuntime, type SlotRuntime, type ListedContainer, type ExitDetails } from './docker-runtime.js';
export { DetectedRuntime, type EngineKind, askEngineKind, engineKindOf } from './detected-runtime.js';
export { PodmanRuntime } from './podman-runtime.js';
export { EventStream, parseEventLine, sinceOf, type EngineEvent } from './event-stream.js';
export { HostSlotDirs, type SlotDirs } from './slot-dirs.js';
export { Factory, type FactoryEvents, type FactoryOptions, type SlotSummary, type SlotSummaryJson } from './factory.js';
export { SnapshotFollower, newerSnapshot, type FollowMounter, type FollowedSnapshot } from './snapshot-follower.js';
export { FactoryMetrics } from './metrics.js';
export { ControlServer, sendControlRequest } from './control-server.js';
export { runDaemon } from './daemon.js';
