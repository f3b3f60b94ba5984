export { PilotError, type PilotErrorCode } from './errors.js';
export {
  checkPilotOptions,
  pilotOptionsSchema,
  describeIssue,
  DEFAULT_PILOT_DIR,
  type PilotOptions,
  type PilotOptionsInput,
  type SiteSnippet,
} from './options.js';
export {
  render,
  entrypointScript,
  ENTRYPOINT,
  TOP_LEVEL_CONFIG,
  HEARTBEAT_FILE,
  STATUS_DIR,
  type RenderedFile,
} from './render.js';
export { writePilotDir } from './pilot-dir.js';
export { DEADLINE_FILE, parseDeadlineFile, readDeadlineFile, renderDeadlineFile } from './deadline-file.js';
export {
  MAX_JOB_ENDS,
  parseHeartbeat,
  readHeartbeat,
  isIdle,
  isUnhealthy,
  type Heartbeat,
  type PilotPhase,
} from './heartbeat.js';
export {
  pilotContainerOptions,
  SLOT_CAPABILITIES,
  DEFAULT_PIDS_LIMIT,
  MAX_PIDS_LIMIT,
  type PilotContainerSpec,
} from './container-spec.js';
export { checkHostToken } from './token-check.js';
export { DockerodePilotEngine, type PilotEngine } from './docker-api.js';
export { PilotRunner, type RunRequest, type RunnerIo, type SignalSource } from './runner.js';
export { readOptionsFile } from './config-file.js';
export { keyPath } from './key-path.js';
export { classAdLiteral } from './condor-config.js';
export {
  mountSchema,
  mountsSchema,
  mountOf,
  checkMountTargets,
  isWithin,
  SCRATCH_TARGET,
  type SlotMount,
  type SlotMountInput,
} from './mounts.js';
export {
  SystemMountHost,
  checkMountSources,
  mountOfPath,
  type MountHost,
  type HostMountOf,
  type MountSourceCheck,
} from './host-mounts.js';
export { emptyScratchDir, scratchDirOf } from './scratch-dir.js';
export { jobEnvironmentSchema, memoryMbSchema } from './options.js';
export { absolutePath, envName, wholeNumber } from './value-rules.js';
export { jobEnvironmentValue } from './condor-config.js';
