import path from 'node:path';
import { type MountHost, checkHostToken, checkMountSources, checkMountTargets } from '@docker-cernvm/pilot';
import type { FactoryMounter } from './cli/context.js';
import type { FactoryConfig } from './config.js';
import type { EngineFacts, EngineKind, SlotRuntime } from './docker-runtime.js';
import { FactoryError } from './errors.js';
import { checkSlotImage, checkSlotRoot } from './image-check.js';
import { JOB_FEATURES_TARGET, MACHINE_FEATURES_TARGET } from './slot-features.js';
import { type SlotTemplate, slotPilotOptions, templateOf } from './template.js';

/** Refuses more pinned slots than the engine has cores, before anything changes. */
export function checkPinning(slots: number, coresPerSlot: number, facts: EngineFacts): void {
  const pinnedCores = slots * coresPerSlot;
  if (pinnedCores > facts.cpus) {
    throw new FactoryError(
      'E_PIN_OVERCOMMIT',
      `${slots} slots × ${coresPerSlot} core(s) need ${pinnedCores} pinned cores, but this host has ${facts.cpus}: run fewer slots or pass --no-pin`,
    );
  }
}

/**
 * The engine's facts (its cores), asked for once and only when pinning needs them: /info is the slowest answer of a
 * start, and without pinning nothing waits on it. A failed ask is asked again next time.
 */
export function engineFactsOnce(runtime: SlotRuntime): () => Promise<EngineFacts> {
  let asked: Promise<EngineFacts> | undefined;
  return () => {
    if (!asked) {
      asked = runtime.facts();
      asked.catch(() => (asked = undefined));
    }
    return asked;
  };
}

/**
 * Everything checked before a slot is made from this configuration: pinning, token, image, pilot options, mount
 * sources. The engine's facts (when pinning), the token and the image are awaited together, since each waits on
 * something else (the engine, the disk) and the first container waits on all of them; a failure is still reported in
 * this order: engine, pinning, token, image.
 */
export async function preflight(
  config: FactoryConfig,
  engineFacts: () => Promise<EngineFacts>,
  mounter: FactoryMounter,
  host: MountHost,
  engineKind: () => Promise<EngineKind>,
): Promise<{ template: SlotTemplate; indexLimit: number }> {
  const [engine, token, image] = await Promise.allSettled([
    config.pin ? engineFacts() : undefined,
    checkHostToken(config.tokenFile),
    config.cernvm ? checkSlotRoot(config.cernvm, engineKind, mounter) : checkSlotImage(config.image, mounter),
  ]);
  const facts = outcome(engine);
  if (facts) checkPinning(config.slots, config.coresPerSlot, facts);
  outcome(token);
  const { cernvmVersion, rootfs } = outcome(image);
  const template = templateOf(config, cernvmVersion, rootfs);
  slotPilotOptions(template, config.name, 0); // every slot's pilot options are valid before anything is made
  const clash = checkMountTargets(template.mounts, [MACHINE_FEATURES_TARGET, JOB_FEATURES_TARGET]);
  if (clash) throw new FactoryError('E_BAD_CONFIG', clash);
  // Every mount source exists and can propagate, and none shows the token or the slots' own directories to jobs.
  await checkMountSources(host, {
    mounts: template.mounts,
    protectedPaths: [
      config.tokenFile,
      path.join(config.stateDir, config.name),
      path.join(config.scratchDir, config.name),
    ],
  });
  return { template, indexLimit: facts ? Math.floor(facts.cpus / config.coresPerSlot) : Number.POSITIVE_INFINITY };
}

/** The value a settled promise kept, or the error it failed with. */
function outcome<T>(settled: PromiseSettledResult<T>): T {
  if (settled.status === 'rejected') throw settled.reason;
  return settled.value;
}
