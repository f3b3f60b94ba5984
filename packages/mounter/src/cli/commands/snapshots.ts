import { oneValue } from '@docker-cernvm/cli-kit';
import type { CommandModule } from 'yargs';
import { DEFAULT_REPOSITORY } from '../../mounter.js';
import { type CliContext, type GlobalArgs, mounterFor, printJson } from '../context.js';

interface SnapshotsArgs extends GlobalArgs {
  repository: string;
}

export function snapshotsCommand(context: CliContext): CommandModule<GlobalArgs, SnapshotsArgs> {
  return {
    command: 'snapshots',
    describe: 'List the snapshots a CernVM repository publishes, marking those mounted or in use',
    builder: (argv) =>
      argv.option('repository', {
        alias: 'branch',
        type: 'string',
        coerce: oneValue('repository'),
        default: DEFAULT_REPOSITORY,
        requiresArg: true,
        describe: 'CernVM repository',
      }),
    handler: async (argv) => {
      const report = await mounterFor(context, argv).snapshots(argv.repository);
      if (argv.json) return printJson(context.io, report);
      const mounted = new Map(report.mounted.map((m) => [m.snapshot ?? '', m]));
      if (!report.available) {
        context.io.stderr(`${report.repository} publishes no snapshot directory (.cvmfs/snapshots)\n`);
      }
      // On podman no placeholder carries a tag: slots run from the snapshot's root itself.
      const use = (m: { tags: string[] }) => (m.tags.length ? `mounted as ${m.tags.join(', ')}` : 'slots run from it');
      for (const name of report.available ?? []) {
        const m = mounted.get(name);
        context.io.stdout(m ? `* ${name}  ${use(m)}\n` : `  ${name}\n`);
      }
      const current = mounted.get('');
      if (current) context.io.stdout(`* (current)  ${use(current)}, ${current.version ?? ''}\n`);
    },
  };
}
