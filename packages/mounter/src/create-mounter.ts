import Dockerode from 'dockerode';
import { DockerodeApi } from './docker-api.js';
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
}

/** A Mounter wired to the real engine and the host's mount commands. */
export function createMounter(options: CreateMounterOptions = {}): Mounter {
  const mounts = new MountOps(new SystemHostCommands(), { cvmfs2Command: options.cvmfs2Command });
  return new Mounter({
    docker: new DockerodeApi(options.docker ?? new Dockerode()),
    mounts,
    repositories: new RepositoryLocator(mounts, { ...DEFAULT_REPOSITORY_PATHS, ...options.paths }),
    reporter: options.reporter,
  });
}
