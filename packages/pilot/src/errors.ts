import { CliError } from '@docker-cernvm/cli-kit';

/** Stable codes a script or the factory can branch on; the message is for the site admin. */
export type PilotErrorCode =
  | 'E_BAD_OPTION' // an option outside its pattern or range
  | 'E_BAD_CONFIG' // a configuration file that cannot be read, parsed or validated
  | 'E_BAD_TOKEN' // a pool token that is missing, empty, or readable by others
  | 'E_BAD_MOUNT' // a mount source that is missing, exposes the token, or cannot propagate
  | 'E_NO_IMAGE' // the pilot image does not exist in the engine
  | 'E_RUN_FAILED'; // the pilot container could not be created or started

const USAGE_CODES: ReadonlySet<PilotErrorCode> = new Set([
  'E_BAD_OPTION',
  'E_BAD_CONFIG',
  'E_BAD_TOKEN',
  'E_BAD_MOUNT',
]);

export class PilotError extends CliError<PilotErrorCode> {
  override readonly name = 'PilotError';

  override get isUsageError(): boolean {
    return USAGE_CODES.has(this.code);
  }
}
