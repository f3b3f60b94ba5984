import type { Mounter, RootRequest } from '@docker-cernvm/mounter';
import type { EngineKind } from './docker-runtime.js';
import { FactoryError } from './errors.js';

/** The mounter names versions as CernVM's snapshots do (cernvm-system-4.7.1.0); slots advertise the number. */
export function versionNumber(version: string | undefined): string | undefined {
  return version?.replace(/^cernvm-system-/, '');
}

export interface ImageReadiness {
  /** True when the image is a docker-cernvm placeholder (and then something is mounted over it). */
  placeholder: boolean;
  /** The CernVM version found in the mounted root, when it has the marker. */
  cernvmVersion?: string;
  /** The CernVM root directory the slots run from, when the configuration names one (`cernvm:`, podman only). */
  rootfs?: string;
}

/**
 * Before any slot is made: the image must exist, and if it is a docker-cernvm placeholder a CernVM root must be
 * mounted over it (an empty placeholder starts containers with nothing in them). An ordinary image is used as is.
 * One inspect answers for an ordinary image: the first container waits on it at every start.
 */
export async function checkSlotImage(image: string, mounter: Pick<Mounter, 'describeImage'>): Promise<ImageReadiness> {
  const described = await mounter.describeImage(image);
  if (described.kind === 'missing') {
    throw new FactoryError(
      'E_NO_IMAGE',
      `no image ${image}: mount a CernVM root as it first (docker-cernvm mount --tag ${image}) or name another with --image`,
    );
  }
  if (described.kind === 'ordinary') return { placeholder: false };
  const { placeholder } = described;
  if (!placeholder.bound) {
    throw new FactoryError(
      'E_NOT_MOUNTED',
      `${image} is a docker-cernvm placeholder with no CernVM root mounted over it: run docker-cernvm mount --tag ${image} first`,
    );
  }
  const version = versionNumber(placeholder.version);
  return { placeholder: true, ...(version ? { cernvmVersion: version } : {}) };
}

/**
 * The configuration's `cernvm:` choice as a directory to run the slots from. Only podman runs a container from a root
 * directory; Docker runs CernVM from a placeholder image the site mounts and names.
 */
export async function checkSlotRoot(
  request: RootRequest,
  engine: () => Promise<EngineKind>,
  mounter: Pick<Mounter, 'resolveRoot'>,
): Promise<ImageReadiness> {
  if ((await engine()) !== 'podman') {
    throw new FactoryError(
      'E_BAD_CONFIG',
      'cernvm: on Docker, mount it with docker-cernvm mount and name its tag in image:',
    );
  }
  const { rootDir, version } = await mounter.resolveRoot(request);
  const number = versionNumber(version);
  return { placeholder: false, rootfs: rootDir, ...(number ? { cernvmVersion: number } : {}) };
}
