import { ROOTFS_LABEL } from '@docker-cernvm/mounter';
import { FACTORY_VERSION } from './version.js';

/** Every label the factory sets, under one reverse-DNS prefix; none of them ever holds a secret. */
export const LABELS = {
  factory: 'org.docker-cernvm.factory',
  slot: 'org.docker-cernvm.slot',
  templateHash: 'org.docker-cernvm.template-hash',
  version: 'org.docker-cernvm.version',
  /** The host directory a slot runs from as its root (podman's rootfs), when it is a CernVM root and not an image. */
  rootfs: ROOTFS_LABEL,
} as const;

/** A slot's labels, with the factory's version stamped on each container it makes. */
export function slotLabels(factory: string, slot: number, templateHash: string): Record<string, string> {
  return {
    [LABELS.factory]: factory,
    [LABELS.slot]: String(slot),
    [LABELS.templateHash]: templateHash,
    [LABELS.version]: FACTORY_VERSION,
  };
}

/** The slot index a container's labels give, or undefined when it is not a well-formed slot label. */
export function slotOf(labels: Readonly<Record<string, string>> | undefined): number | undefined {
  const text = labels?.[LABELS.slot];
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  return Number(text);
}

export function slotContainerName(factory: string, slot: number): string {
  return `${factory}-slot-${slot}`;
}
