import path from 'node:path';
import { oneValue } from '@docker-cernvm/cli-kit';
import type { Argv, CommandModule } from 'yargs';
import { writePilotDir } from '../../pilot-dir.js';
import { render } from '../../render.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';
import { type PilotArgs, pilotOptionFlags, pilotOptionsFromArgs } from '../pilot-args.js';

interface RenderArgs extends PilotArgs {
  out: string;
  json: boolean;
}

export function renderCommand(context: CliContext): CommandModule<object, RenderArgs> {
  return {
    command: 'render',
    describe: "Write one slot's HTCondor configuration and entrypoint into a directory",
    builder: (argv: Argv) =>
      pilotOptionFlags(argv)
        .option('out', {
          type: 'string',
          coerce: oneValue('out'),
          demandOption: true,
          requiresArg: true,
          describe: 'Directory to write (the slot mounts it at /pilot)',
        })
        .option('json', {
          type: 'boolean',
          default: false,
          describe: 'Print the written files as JSON',
        }) as Argv<RenderArgs>,
    handler: async (argv) => {
      const options = await pilotOptionsFromArgs(argv);
      const files = render(options);
      const out = path.resolve(argv.out);
      writePilotDir(out, files);
      if (argv.json) return printJson(context.io, { dir: out, files: files.map((f) => f.path) });
      context.io.stderr(`rendered ${files.length} files for ${options.slotName} into ${out}\n`);
      for (const file of files) context.io.stdout(`${path.join(out, file.path)}\n`);
    },
  };
}
