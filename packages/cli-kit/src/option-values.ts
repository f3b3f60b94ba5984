import { CliError } from './cli-error.js';

/** A flag given a value that is not text: the one error cli-kit raises itself, a usage error like the products'. */
export class OptionError extends CliError<'E_BAD_OPTION'> {
  override readonly name = 'OptionError';

  override get isUsageError(): boolean {
    return true;
  }
}

/**
 * A string option's check: `--no-x` makes it false and `--x.y v` an object, and either would reach a check as
 * something that is not text; refused by name instead, before any handler runs. Given twice to a parser that keeps
 * both, the last one counts.
 */
export function oneValue(flag: string): (value: unknown) => string {
  return (value) => {
    const last: unknown = Array.isArray(value) ? value.at(-1) : value;
    if (typeof last !== 'string')
      throw new OptionError('E_BAD_OPTION', `--${flag}: expected one value, such as --${flag} VALUE`);
    return last;
  };
}

/** The same for a repeatable option: every value must be text. */
export function textValues(flag: string): (value: unknown) => string[] {
  return (value) => {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (!values.every((v) => typeof v === 'string'))
      throw new OptionError('E_BAD_OPTION', `--${flag}: expected a value, such as --${flag} VALUE`);
    return values as string[];
  };
}
