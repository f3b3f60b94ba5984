import type { Argv, CommandModule } from 'yargs';
import { MAX_SLOTS } from '../../config.js';
import { sendControlRequest } from '../../control-server.js';
import { FactoryError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { socketPathOf } from '../../socket-path.js';
import { type ControlArgs, controlOptions } from '../control-args.js';

async function send(
  context: CliContext,
  argv: ControlArgs,
  request: Record<string, unknown>,
  say: (result: unknown) => string,
) {
  const result = await sendControlRequest(socketPathOf(argv.name, argv.socket), request);
  context.io.stdout(argv.json ? `${JSON.stringify(result, null, 2)}\n` : say(result));
}

interface StatusResult {
  /** The factory's host; a factory from before it was reported does not say. */
  host?: string;
  name: string;
  /** The running factory's version; a factory from before it was reported does not say. */
  version?: string;
  summary?: {
    desired: number;
    running: number;
    starting: number;
    draining: number;
    stopping: number;
    backoff: number;
    claimed: number;
    idle: number;
  };
  draining: boolean;
  template: { image: string; cernvmVersion?: string; hash: string };
  slots: {
    slot: number;
    id: string;
    phase: string;
    draining: boolean;
    stopping?: boolean;
    state?: string;
    jobId?: string;
  }[];
}

export function formatStatus(status: StatusResult): string {
  const s = status.summary;
  const lines = [
    `factory ${status.name}${status.host ? ` on ${status.host}` : ''}${status.draining ? ' (draining)' : ''}: ${s ? `${s.running}/${s.desired} running` : 'starting'}`,
    `image ${status.template.image}${status.template.cernvmVersion ? ` (CernVM ${status.template.cernvmVersion})` : ''}, template ${status.template.hash}`,
  ];
  if (s)
    lines.push(
      `starting ${s.starting}, draining ${s.draining}, stopping ${s.stopping}, backoff ${s.backoff}, claimed ${s.claimed}, idle ${s.idle}`,
    );
  for (const slot of status.slots) {
    lines.push(
      `  slot ${slot.slot}  ${slot.id}  ${slot.phase}${slot.draining ? ' draining' : ''}${slot.stopping ? ' stopping' : ''}  ${slot.state ?? '-'}${slot.jobId ? ` job ${slot.jobId}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function scaleCommand(
  context: CliContext,
): CommandModule<object, ControlArgs & { slots: string; force: boolean }> {
  return {
    command: 'scale <slots>',
    describe: 'Resize a running factory; victims drain after their job (idle ones first) unless --force',
    builder: (argv: Argv) =>
      controlOptions(argv).positional('slots', { type: 'string', describe: 'The new slot count' }).option('force', {
        type: 'boolean',
        default: false,
        describe: 'Stop the victims at once instead of draining them',
      }) as Argv<ControlArgs & { slots: string; force: boolean }>,
    handler: async (argv) => {
      if (!/^\d{1,6}$/.test(argv.slots) || Number(argv.slots) > MAX_SLOTS) {
        throw new FactoryError(
          'E_BAD_SLOTS',
          `slots: expected a whole number from 0 to ${MAX_SLOTS}, got "${argv.slots}"`,
        );
      }
      await send(
        context,
        argv,
        { command: 'scale', slots: Number(argv.slots), force: argv.force },
        () => `scaling to ${argv.slots} slots\n`,
      );
    },
  };
}

function simple(
  context: CliContext,
  command: 'drain' | 'resume' | 'status',
  describe: string,
  say: (r: unknown) => string,
): CommandModule<object, ControlArgs> {
  return {
    command,
    describe,
    builder: (argv: Argv) => controlOptions(argv),
    handler: (argv) => send(context, argv, { command }, say),
  };
}

export const drainCommand = (context: CliContext) =>
  simple(
    context,
    'drain',
    'No new slots; every pilot finishes its job and exits, and none is replaced',
    () => 'draining\n',
  );
export const resumeCommand = (context: CliContext) =>
  simple(context, 'resume', 'Undo a drain: fill the slots again', () => 'resumed\n');
export const statusCommand = (context: CliContext) =>
  simple(context, 'status', 'Show a running factory’s slots', (result) => formatStatus(result as StatusResult));
