import type { Argv, CommandModule } from 'yargs';
import { MAX_SLOTS } from '../../config.js';
import { sendControlRequest } from '../../control-server.js';
import { FactoryError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { socketPathOf } from '../../socket-path.js';
import { type ControlArgs, controlOptions } from '../control-args.js';
import { parseDeadlineArg } from '../deadline-arg.js';

interface DeadlineArgs {
  deadline?: string;
}

function deadlineOption<T>(argv: Argv<T>, describe: string): Argv<T & DeadlineArgs> {
  return argv.option('deadline', { type: 'string', requiresArg: true, describe }) as Argv<T & DeadlineArgs>;
}

/** The request's deadline in seconds from now, checked before anything is sent. */
const deadlineOf = (argv: DeadlineArgs) =>
  argv.deadline === undefined ? {} : { deadlineSeconds: parseDeadlineArg(argv.deadline) };
const saidDeadline = (argv: DeadlineArgs) =>
  argv.deadline === undefined ? '' : `, jobs vacated after ${argv.deadline}`;

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
    coresHeld?: number;
    deadlineEpoch?: number;
    latestSlotDeadlineEpoch?: number;
    /** Absent from a factory before health checks. */
    unhealthy?: number;
  };
  draining: boolean;
  template: { image: string; cernvmVersion?: string; root?: string; hash: string };
  slots: {
    slot: number;
    id: string;
    phase: string;
    draining: boolean;
    stopping?: boolean;
    state?: string;
    jobId?: string;
    deadlineEpoch?: number;
    unhealthyReason?: string;
  }[];
  /** Absent from a factory before exit counts. */
  exits?: {
    drained: number;
    clean: number;
    failed: number;
    oom: number;
    lastProblem?: { slot: number; reason: string; exitCode: number; at: string };
  };
}

const timeOf = (epoch: number) => new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');

export function formatStatus(status: StatusResult): string {
  const s = status.summary;
  const lines = [
    `factory ${status.name}${status.host ? ` on ${status.host}` : ''}${status.draining ? ' (draining)' : ''}: ${s ? `${s.running}/${s.desired} running` : 'starting'}`,
    `${status.template.root ? `root ${status.template.root}` : `image ${status.template.image}`}${status.template.cernvmVersion ? ` (CernVM ${status.template.cernvmVersion})` : ''}, template ${status.template.hash}`,
  ];
  if (s) {
    lines.push(
      `starting ${s.starting}, draining ${s.draining}, stopping ${s.stopping}, backoff ${s.backoff}, claimed ${s.claimed}, idle ${s.idle}` +
        (s.unhealthy === undefined ? '' : `, unhealthy ${s.unhealthy}`),
    );
    const last = s.latestSlotDeadlineEpoch ?? s.deadlineEpoch;
    if (last !== undefined)
      lines.push(`deadline ${timeOf(last)}: ${s.coresHeld ?? '?'} cores still held, jobs vacated then`);
  }
  const exits = status.exits;
  // Only once a slot has exited: a healthy steady state keeps its status short.
  if (exits && exits.drained + exits.clean + exits.failed + exits.oom > 0) {
    const problem = exits.lastProblem;
    lines.push(
      `exits: ${exits.drained} drained, ${exits.clean} clean, ${exits.failed} failed, ${exits.oom} oom` +
        (problem ? ` (last: slot ${problem.slot} ${problem.reason}, code ${problem.exitCode}, at ${problem.at})` : ''),
    );
  }
  for (const slot of status.slots) {
    lines.push(
      `  slot ${slot.slot}  ${slot.id}  ${slot.phase}${slot.draining ? ' draining' : ''}${slot.stopping ? ' stopping' : ''}  ${slot.state ?? '-'}${slot.jobId ? ` job ${slot.jobId}` : ''}${slot.deadlineEpoch === undefined ? '' : ` until ${timeOf(slot.deadlineEpoch)}`}` +
        (slot.unhealthyReason ? `  UNHEALTHY: ${slot.unhealthyReason}` : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function scaleCommand(
  context: CliContext,
): CommandModule<object, ControlArgs & DeadlineArgs & { slots: string; force: boolean }> {
  return {
    command: 'scale <slots>',
    describe: 'Resize a running factory; victims drain after their job (idle ones first) unless --force',
    builder: (argv: Argv) =>
      deadlineOption(
        controlOptions(argv).positional('slots', { type: 'string', describe: 'The new slot count' }).option('force', {
          type: 'boolean',
          default: false,
          describe: 'Stop the victims at once instead of draining them',
        }),
        "Vacate the victims' jobs still running after this long (45m, 2h, 90s)",
      ) as Argv<ControlArgs & DeadlineArgs & { slots: string; force: boolean }>,
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
        { command: 'scale', slots: Number(argv.slots), force: argv.force, ...deadlineOf(argv) },
        () => `scaling to ${argv.slots} slots${saidDeadline(argv)}\n`,
      );
    },
  };
}

function simple(
  context: CliContext,
  command: 'resume' | 'status',
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

export function drainCommand(context: CliContext): CommandModule<object, ControlArgs & DeadlineArgs> {
  return {
    command: 'drain',
    describe: 'No new slots; every pilot finishes its job (or, with --deadline, is vacated then) and exits',
    builder: (argv: Argv) =>
      deadlineOption(
        controlOptions(argv),
        'Vacate the jobs still running after this long (45m, 2h, 90s); they go back to the queue',
      ),
    handler: (argv) =>
      send(context, argv, { command: 'drain', ...deadlineOf(argv) }, () => `draining${saidDeadline(argv)}\n`),
  };
}
export const resumeCommand = (context: CliContext) =>
  simple(context, 'resume', 'Undo a drain: fill the slots again', () => 'resumed\n');
export const statusCommand = (context: CliContext) =>
  simple(context, 'status', 'Show a running factory’s slots', (result) => formatStatus(result as StatusResult));
