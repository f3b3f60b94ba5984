import { createHash } from 'node:crypto';
import type { ContainerCreateOptions } from 'dockerode';
import {
  type PilotOptions,
  SCRATCH_TARGET,
  type SlotMount,
  checkPilotOptions,
  pilotContainerOptions,
} from '@docker-cernvm/pilot';
import type { FactoryConfig } from './config.js';
import { LABELS, slotContainerName, slotLabels } from './labels.js';
import { JOB_FEATURES_TARGET, MACHINE_FEATURES_TARGET } from './slot-features.js';

/** Everything that makes two slots the same: a change to any of it rolls the slots over (never kills a job). */
export interface SlotTemplate {
  image: string;
  /** The CernVM version mounted under the image, when it is a docker-cernvm placeholder, or the root's. */
  cernvmVersion?: string;
  /** On podman: the CernVM root directory the slots run from (rootfs with an overlay), instead of the image. */
  rootfs?: string;
  slotCommand: FactoryConfig['slotCommand'];
  collector: string;
  trustDomain?: string;
  tokenFile: string;
  networkMode: FactoryConfig['networkMode'];
  networkInterface?: string;
  coresPerSlot: number;
  pin: boolean;
  memoryMb: number;
  pidsLimit: number;
  environment: Readonly<Record<string, string>>;
  /** Host paths bound into every slot, defaults filled in (so the same mounts always hash the same). */
  mounts: readonly SlotMount[];
  /** The root of the slots' scratch directories on the host. */
  scratchDir: string;
  pilot: NonNullable<FactoryConfig['pilot']>;
}

export function templateOf(config: FactoryConfig, cernvmVersion?: string, rootfs?: string): SlotTemplate {
  return {
    image: config.image,
    ...(cernvmVersion ? { cernvmVersion } : {}),
    ...(rootfs ? { rootfs } : {}),
    slotCommand: config.slotCommand,
    collector: config.collector,
    ...(config.trustDomain ? { trustDomain: config.trustDomain } : {}),
    tokenFile: config.tokenFile,
    networkMode: config.networkMode,
    ...(config.networkInterface ? { networkInterface: config.networkInterface } : {}),
    coresPerSlot: config.coresPerSlot,
    pin: config.pin,
    memoryMb: config.memoryMb,
    pidsLimit: config.pidsLimit,
    environment: config.environment ?? {},
    mounts: config.mounts ?? [],
    scratchDir: config.scratchDir,
    pilot: config.pilot ?? {},
  };
}

/** JSON with keys sorted at every level, so the hash does not depend on the order keys were written in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function templateHash(template: SlotTemplate): string {
  return createHash('sha256').update(canonical(template)).digest('hex').slice(0, 12);
}

/** The pilot options of one slot: the template's, with this slot's name and the attributes that identify it. */
export function slotPilotOptions(template: SlotTemplate, factory: string, slot: number): PilotOptions {
  const collectorHost = template.collector.split(':')[0] ?? template.collector;
  return checkPilotOptions({
    collector: template.collector,
    // HTCondor's own default TRUST_DOMAIN is the collector's host.
    trustDomain: template.trustDomain ?? collectorHost,
    slotName: slotContainerName(factory, slot),
    networkMode: template.networkMode,
    ...(template.networkInterface ? { networkInterface: template.networkInterface } : {}),
    cpus: template.coresPerSlot,
    executeDir: SCRATCH_TARGET,
    mounts: template.mounts,
    ...template.pilot,
    // HEPiX MJF: every job finds its slot's machine and job features where these name.
    jobEnvironment: {
      ...template.pilot.jobEnvironment,
      MACHINEFEATURES: MACHINE_FEATURES_TARGET,
      JOBFEATURES: JOB_FEATURES_TARGET,
    },
    attributes: {
      ...template.pilot.attributes,
      DockerCernvmFactory: factory,
      DockerCernvmSlot: slot,
      ...(template.cernvmVersion ? { CernVMVersion: template.cernvmVersion } : {}),
    },
  });
}

/** Slot i's cores when pinned: i·k … i·k + k − 1. */
export function cpusetOf(slot: number, coresPerSlot: number): string {
  const first = slot * coresPerSlot;
  return coresPerSlot === 1 ? String(first) : `${first}-${first + coresPerSlot - 1}`;
}

/** The Engine API body for slot i: the pilot's container, plus the factory's labels, pinning and environment. */
export function slotContainerOptions(args: {
  template: SlotTemplate;
  hash: string;
  factory: string;
  slot: number;
  hostPilotDir: string;
  /** The slot's scratch directory on the host, mounted at the pilot's execute directory. */
  hostScratchDir: string;
  /** The host directory holding the factory's copy of the pool token, bound read-only as the token's directory. */
  hostTokenDir?: string;
  /** The slot's MJF directory on the host (`machine/`, `job/`), bound read-only at the MJF targets. */
  hostFeaturesDir?: string;
  options: PilotOptions;
}): ContainerCreateOptions {
  const { template, factory, slot } = args;
  const body = pilotContainerOptions({
    name: slotContainerName(factory, slot),
    image: template.image,
    hostPilotDir: args.hostPilotDir,
    hostScratchDir: args.hostScratchDir,
    hostTokenFile: template.tokenFile,
    ...(args.hostTokenDir ? { hostTokenDir: args.hostTokenDir } : {}),
    options: args.options,
    memoryMb: template.memoryMb,
    pidsLimit: template.pidsLimit,
    ...(template.pin ? { cpuset: cpusetOf(slot, template.coresPerSlot) } : {}),
    // The root's label is what sends the body to podman's own API with that root (PodmanRuntime).
    labels: {
      ...slotLabels(factory, slot, args.hash),
      ...(template.rootfs ? { [LABELS.rootfs]: template.rootfs } : {}),
    },
  });
  // `image`: the image's own command (a site's pilot, or the tests' slot image) instead of the rendered entrypoint.
  if (template.slotCommand === 'image') delete body.Cmd;
  if (args.hostFeaturesDir && body.HostConfig) {
    body.HostConfig.Binds = [
      ...(body.HostConfig.Binds ?? []),
      `${args.hostFeaturesDir}/machine:${MACHINE_FEATURES_TARGET}:ro`,
      `${args.hostFeaturesDir}/job:${JOB_FEATURES_TARGET}:ro`,
    ];
  }
  const env = Object.entries(template.environment).map(([k, v]) => `${k}=${v}`);
  if (env.length) body.Env = env;
  return body;
}
