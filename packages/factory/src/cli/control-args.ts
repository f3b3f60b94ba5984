import type { Argv } from 'yargs';
import { FactoryError } from '../errors.js';
import { DEFAULT_SOCKET_DIR } from '../socket-path.js';

/** Where a running factory listens: its socket path, from --socket or from its name. */
export interface ControlArgs {
  name: string;
  socket?: string;
  json: boolean;
}


/**
 * A string option's check: `--no-x` makes it false and `--x.y v` an object, and either would reach a check as
 * something that is not text; refused by name instead, before any handler runs.
 */
export function oneValue(flag: string): (value: unknown) => string {
  return (value) => {
    if (typeof value !== 'string') throw new FactoryError('E_BAD_OPTION', `--${flag}: expected one value, such as --${flag} VALUE`);
    return value;
  };
}

/** The same for a repeatable option: every value must be text. */
export function textValues(flag: string): (value: unknown) => string[] {
  return (value) => {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (!values.every((v) => typeof v === 'string')) throw new FactoryError('E_BAD_OPTION', `--${flag}: expected a value, such as --${flag} VALUE`);
    return values as string[];
  };
}

export function controlOptions<T>(argv: Argv<T>): Argv<T & ControlArgs> {
  return argv
    .option('name', { type: 'string', coerce: oneValue('name'), default: 'docker-cernvm', requiresArg: true, describe: 'The factory to talk to' })
    .option('socket', { type: 'string', coerce: oneValue('socket'), requiresArg: true, describe: `Its control socket (default ${DEFAULT_SOCKET_DIR}/<name>.sock)` })
    .option('json', { type: 'boolean', default: false, describe: 'Print the answer as JSON' }) as Argv<T & ControlArgs>;
}
