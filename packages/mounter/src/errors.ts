import { CliError } from '@docker-cernvm/cli-kit';

/** Stable codes a script or the factory can branch on; the message is for the site admin. */
export type MounterErrorCode =
  | 'E_BAD_NAME' // a repository, snapshot, image or root name outside its strict pattern
  | 'E_BAD_OPTION' // an option value that is not a name (a URL, a path)
  | 'E_NO_IMAGE' // the image tag does not exist
  | 'E_NOT_PLACEHOLDER' // the image exists but was not registered by docker-cernvm
  | 'E_PAIR_MISMATCH' // the placeholder was registered for another repository or snapshot
  | 'E_TAG_IN_USE' // re-registering a tag whose placeholder is mounted or used
  | 'E_MOUNT_BUSY' // containers use the layer that would change
  | 'E_UNSUPPORTED_STORAGE' // a storage driver or image store we cannot bind over
  | 'E_LAYER_MISMATCH' // the engine and its layer database disagree about the layer directory
  | 'E_NO_CONTAINERD' // the containerd image store's layers are out of reach: no ctr, or no containerd socket
  | 'E_NO_REPOSITORY' // the CVMFS repository could not be found or mounted
  | 'E_DISCONNECTED' // the repository's FUSE client has died: every access fails with ENOTCONN
  | 'E_NO_SNAPSHOT' // the snapshot does not exist in the repository
  | 'E_NO_CERNVM_ROOT' // no CernVM root at the chosen path
  | 'E_COMMAND_FAILED' // mount, umount or cvmfs2 failed
  | 'E_BUILD_FAILED' // the engine failed to build the placeholder
  | 'E_FETCH_FAILED'; // the repository key could not be fetched

/** Codes that mean "the request was wrong", reported with exit code 2 and nothing changed. */
const USAGE_CODES: ReadonlySet<MounterErrorCode> = new Set(['E_BAD_NAME', 'E_BAD_OPTION']);

export class MounterError extends CliError<MounterErrorCode> {
  override readonly name = 'MounterError';

  override get isUsageError(): boolean {
    return USAGE_CODES.has(this.code);
  }
}
