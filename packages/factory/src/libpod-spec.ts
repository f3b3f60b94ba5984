import { constants } from 'node:os';
import type { ContainerCreateOptions, MountSettings } from 'dockerode';
import { FactoryError } from './errors.js';

/** One mount of podman's SpecGenerator: a bind with its options (`rbind`, `ro`, a propagation). */
export interface LibpodMount {
  type: 'bind';
  source: string;
  destination: string;
  options: string[];
}

/** The part of podman's SpecGenerator (`POST /libpod/containers/create`) a slot needs. */
export interface LibpodSpec {
  name?: string;
  rootfs: string;
  rootfs_overlay: true;
  command?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  stop_signal?: number;
  init?: boolean;
  netns: { nsmode: 'host' | 'bridge' };
  mounts: LibpodMount[];
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  no_new_privileges?: boolean;
  r_limits?: Array<{ type: string; soft: number; hard: number }>;
  resource_limits?: {
    memory?: { limit?: number; swap?: number };
    pids?: { limit: number };
    cpu?: { cpus: string };
  };
}

// Every field the slot template sets; any other would be dropped silently, so it is refused instead.
const BODY_KEYS = new Set(['name', 'Image', 'Cmd', 'Env', 'Labels', 'StopSignal', 'HostConfig']);
const HOST_CONFIG_KEYS = new Set([
  'Init',
  'NetworkMode',
  'Binds',
  'Mounts',
  'Privileged',
  'CapDrop',
  'CapAdd',
  'SecurityOpt',
  'PidsLimit',
  'Memory',
  'MemorySwap',
  'CpusetCpus',
  'Ulimits',
]);

function refuseUnknown(keys: Iterable<string>, known: Set<string>, where: string): void {
  const unknown = [...keys].filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new FactoryError('E_ENGINE', `a slot on a CernVM root cannot carry ${where} ${unknown.join(', ')} to podman`);
  }
}

/** `SRC:DST[:ro]`, the Binds form the slot template writes. */
function bindOf(bind: string): LibpodMount {
  const [source, destination, mode, ...rest] = bind.split(':');
  if (!source || !destination || rest.length > 0 || (mode !== undefined && mode !== 'ro')) {
    throw new FactoryError('E_ENGINE', `cannot give podman the bind ${bind}`);
  }
  return { type: 'bind', source, destination, options: mode === 'ro' ? ['rbind', 'ro'] : ['rbind'] };
}

/** A Mounts entry: binds only, as the slot template makes them. */
function mountOf(mount: MountSettings): LibpodMount {
  if (mount.Type !== 'bind')
    throw new FactoryError('E_ENGINE', `cannot give podman the ${mount.Type} mount ${mount.Target}`);
  const propagation = mount.BindOptions?.Propagation;
  return {
    type: 'bind',
    source: mount.Source,
    destination: mount.Target,
    options: ['rbind', ...(mount.ReadOnly ? ['ro'] : []), ...(propagation ? [propagation] : [])],
  };
}

/**
 * The Docker Engine API body the slot template makes, as podman's SpecGenerator for a container whose root is the
 * directory `rootfs` under an overlay of its own (writes never reach the directory). One template serves both
 * engines; this is the only place that knows the other shape.
 */
export function libpodSpecOf(body: ContainerCreateOptions, rootfs: string): LibpodSpec {
  refuseUnknown(Object.keys(body), BODY_KEYS, 'the option');
  const host = body.HostConfig ?? {};
  refuseUnknown(Object.keys(host), HOST_CONFIG_KEYS, 'the host option');
  const securityOpt = host.SecurityOpt ?? [];
  refuseUnknown(securityOpt, new Set(['no-new-privileges']), 'the security option');
  const stopSignal = body.StopSignal ? constants.signals[body.StopSignal as NodeJS.Signals] : undefined;
  if (body.StopSignal && stopSignal === undefined) {
    throw new FactoryError('E_ENGINE', `unknown stop signal ${body.StopSignal}`);
  }
  const memory = {
    ...(host.Memory ? { limit: host.Memory } : {}),
    ...(host.MemorySwap ? { swap: host.MemorySwap } : {}),
  };
  const resources = {
    ...(Object.keys(memory).length ? { memory } : {}),
    ...(host.PidsLimit ? { pids: { limit: host.PidsLimit } } : {}),
    ...(host.CpusetCpus ? { cpu: { cpus: host.CpusetCpus } } : {}),
  };
  return {
    ...(body.name ? { name: body.name } : {}),
    rootfs,
    rootfs_overlay: true,
    ...(body.Cmd ? { command: [...(body.Cmd as string[])] } : {}),
    ...(body.Env?.length ? { env: Object.fromEntries(body.Env.map(envPair)) } : {}),
    ...(body.Labels ? { labels: { ...body.Labels } } : {}),
    ...(stopSignal !== undefined ? { stop_signal: stopSignal } : {}),
    ...(host.Init !== undefined ? { init: host.Init } : {}),
    netns: { nsmode: host.NetworkMode === 'host' ? 'host' : 'bridge' },
    mounts: [...(host.Binds ?? []).map(bindOf), ...(host.Mounts ?? []).map(mountOf)],
    ...(host.Privileged !== undefined ? { privileged: host.Privileged } : {}),
    ...(host.CapAdd ? { cap_add: [...host.CapAdd] } : {}),
    ...(host.CapDrop ? { cap_drop: [...host.CapDrop] } : {}),
    ...(securityOpt.includes('no-new-privileges') ? { no_new_privileges: true } : {}),
    ...(host.Ulimits?.length ? { r_limits: host.Ulimits.map(rlimitOf) } : {}),
    ...(Object.keys(resources).length ? { resource_limits: resources } : {}),
  };
}

function rlimitOf(ulimit: { Name?: string; Soft?: number; Hard?: number }): {
  type: string;
  soft: number;
  hard: number;
} {
  const { Name, Soft, Hard } = ulimit;
  if (!Name || Soft === undefined || Hard === undefined) {
    throw new FactoryError('E_ENGINE', `cannot give podman the ulimit ${JSON.stringify(ulimit)}`);
  }
  return { type: Name, soft: Soft, hard: Hard };
}

function envPair(entry: string): [string, string] {
  const at = entry.indexOf('=');
  return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
}
