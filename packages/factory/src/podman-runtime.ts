import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { DockerodeRuntime, type EngineKind, type ListedContainer, type RequestCounter } from './docker-runtime.js';
import { FactoryError } from './errors.js';
import type { SlotRlimits } from './host-rlimits.js';
import { LABELS } from './labels.js';
import { libpodSpecOf } from './libpod-spec.js';

type Ulimit = { Name: string; Soft: number; Hard: number };

/**
 * Explicit ulimits at the host's hard limits. Without them podman asks the OCI runtime for its own defaults, which
 * may lie above the host's hard limit, and a process without CAP_SYS_RESOURCE cannot raise it: every start fails.
 * A limit the body names already is kept; an unlimited one is left to podman (its default then fits under it).
 */
export function withRlimits(options: ContainerCreateOptions, limits: SlotRlimits): ContainerCreateOptions {
  const given: Ulimit[] = (options.HostConfig?.Ulimits ?? []) as Ulimit[];
  const added: Ulimit[] = [];
  for (const name of ['nofile', 'nproc'] as const) {
    const hard = limits[name].hard;
    if (hard === undefined || given.some((u) => u.Name === name)) continue;
    // Soft at the hard limit: a slot's jobs get the most the host allows, as dockerd's containers usually do.
    added.push({ Name: name, Soft: hard, Hard: hard });
  }
  if (added.length === 0) return options;
  return { ...options, HostConfig: { ...options.HostConfig, Ulimits: [...given, ...added] } };
}

const RLIMIT_REFUSED = /error setting rlimit/;

/**
 * Podman's API service (`podman system service`), through its Docker-compatible API: list, events with the label
 * filter, inspect, kill, stop and remove behave as on dockerd. What differs is here: the rlimits of a create, and a
 * state of the list.
 */
export class PodmanRuntime extends DockerodeRuntime {
  constructor(
    docker: Docker,
    count: RequestCounter,
    private readonly rlimits: () => Promise<SlotRlimits>,
  ) {
    super(docker, count);
  }

  override async engine(): Promise<EngineKind> {
    return 'podman';
  }

  /** Podman lists a container whose process ended as `stopped` until its clean-up makes it `exited`: Docker's name. */
  override async list(factory: string): Promise<ListedContainer[]> {
    return (await super.list(factory)).map((c) => (c.state === 'stopped' ? { ...c, state: 'exited' } : c));
  }

  override async createAndStart(options: ContainerCreateOptions): Promise<string> {
    const limits = await this.rlimits();
    const body = withRlimits(options, limits);
    const rootfs = options.Labels?.[LABELS.rootfs];
    try {
      return rootfs ? await this.createOnRoot(body, rootfs) : await super.createAndStart(body);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!RLIMIT_REFUSED.test(message)) throw error;
      throw new FactoryError(
        'E_ENGINE',
        `podman could not set a slot's rlimits (open files ${describe(limits.nofile)}, processes ` +
          `${describe(limits.nproc)}): run the podman service under the same limits as the factory, or set ` +
          `default_ulimits in /etc/containers/containers.conf at or under \`ulimit -H\``,
        { cause: error },
      );
    }
  }

  /** A slot whose root is a CernVM root on the host, under an overlay of its own: only podman's own API has that. */
  private async createOnRoot(body: ContainerCreateOptions, rootfs: string): Promise<string> {
    const spec = libpodSpecOf(body, rootfs);
    this.count('container_create');
    const created = await new Promise<{ Id: string }>((resolve, reject) =>
      this.docker.modem.dial(
        {
          path: '/v4.0.0/libpod/containers/create',
          method: 'POST',
          options: spec,
          statusCodes: { 201: true, 400: 'bad parameter', 409: 'conflict', 500: 'server error' },
        },
        (error: unknown, result: unknown) => (error ? reject(error) : resolve(result as { Id: string })),
      ),
    );
    await this.startOrRemove(this.docker.getContainer(created.Id));
    return created.Id;
  }
}

const describe = (limit: SlotRlimits['nofile']): string => `${limit.soft ?? 'unlimited'}:${limit.hard ?? 'unlimited'}`;
