import Dockerode from 'dockerode';
import { ContainerdSnapshots } from './containerd-snapshots.js';
import { DockerodeApi } from './docker-api.js';
import { EngineRoot } from './engine-root.js';
import { SystemHostCommands } from './host-commands.js';
import { MountOps } from './mount-ops.js';
import { Mounter } from './mounter.js';
import type { Reporter } from './reporter.js';
import { DEFAULT_REPOSITORY_PATHS, RepositoryLocator, type RepositoryPaths } from './repository.js';

export interface CreateMounterOptions {
  /** Engine connection; by default DOCKER_HOST or the local socket, as the docker CLI does. */
  docker?: Dockerode;
  paths?: Partial<RepositoryPaths>;
  cvmfs2Command?: string;
  reporter?: Reporter;
  /**
   * The engine's file system on this host, to map the paths it reports: `/` (the default) when dockerd runs on the
   * host, its directory when dockerd runs in a chroot. Default: $DOCKER_CERNVM_ENGINE_ROOT, else `/`.
   */
  engineRoot?: string;
  /** containerd's client for the containerd image store; default `ctr` from PATH. */
  ctrCommand?: string;
  /** containerd's socket as a host path; by default the engine's word for it, else the known defaults. */
  containerdSocket?: string;
}

/** The engine root when none is given: like DOCKER_HOST for the engine's address, a variable names its file system. */
export function defaultEngineRoot(): string {
  return process.env.DOCKER_CERNVM_ENGINE_ROOT || '/';
}

/** A Mounter wired to the real engine and the host's mount commands. */
export function createMounter(options: CreateMounterOptions = {}): Mounter {
  const host = new SystemHostCommands();
  const mounts = new MountOps(host, { cvmfs2Command: options.cvmfs2Command });
  return new Mounter({
    containerd: new ContainerdSnapshots(host, options.ctrCommand),
    engineRoot: new EngineRoot(options.engineRoot ?? defaultEngineRoot()),
    containerdSocket: options.containerdSocket,
    docker: new DockerodeApi(options.docker ?? new Dockerode()),
    mounts,
    repositories: new RepositoryLocator(mounts, { ...DEFAULT_REPOSITORY_PATHS, ...options.paths }),
    reporter: options.reporter,
  });
}
