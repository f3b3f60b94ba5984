import { CliError } from '@docker-cernvm/cli-kit';

/** Stable codes a script can branch on; the message is for the site admin. */
export type FactoryErrorCode =
  | 'E_BAD_OPTION' // a flag or environment value outside its pattern or range
  | 'E_BAD_CONFIG' // a configuration file that cannot be read, parsed or validated
  | 'E_BAD_SLOTS' // a slot count that is not a whole number in range
  | 'E_PIN_OVERCOMMIT' // more pinned cores asked for than the host has
  | 'E_NO_IMAGE' // the slot image does not exist
  | 'E_NOT_MOUNTED' // the image is a docker-cernvm placeholder with nothing bound over it
  | 'E_ENGINE' // the Docker engine refused or failed
  | 'E_BAD_TOKEN' // the pool token is missing or unsafe: no new slot starts with it
  | 'E_NOT_RUNNING' // no factory answers on the control socket
  | 'E_ALREADY_RUNNING' // a factory with this name already answers on its socket
  | 'E_REFUSED'; // a running factory refused a control request

const USAGE_CODES: ReadonlySet<FactoryErrorCode> = new Set([
  'E_BAD_OPTION',
  'E_BAD_CONFIG',
  'E_BAD_SLOTS',
  'E_PIN_OVERCOMMIT',
]);

export class FactoryError extends CliError<FactoryErrorCode> {
  override readonly name = 'FactoryError';

  override get isUsageError(): boolean {
    return USAGE_CODES.has(this.code);
  }
}
