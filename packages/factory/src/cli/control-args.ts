import { oneValue } from '@docker-cernvm/cli-kit';
import type { Argv } from 'yargs';
import { DEFAULT_SOCKET_DIR } from '../socket-path.js';

/** Where a running factory listens: its socket path, from --socket or from its name. */
export interface ControlArgs {
  name: string;
  socket?: string;
  json: boolean;
}

export function controlOptions<T>(argv: Argv<T>): Argv<T & ControlArgs> {
  return argv
    .option('name', {
      type: 'string',
      coerce: oneValue('name'),
      default: 'docker-cernvm',
      requiresArg: true,
      describe: 'The factory to talk to',
    })
    .option('socket', {
      type: 'string',
      coerce: oneValue('socket'),
      requiresArg: true,
      describe: `Its control socket (default ${DEFAULT_SOCKET_DIR}/<name>.sock)`,
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print the answer as JSON' }) as Argv<T & ControlArgs>;
}
