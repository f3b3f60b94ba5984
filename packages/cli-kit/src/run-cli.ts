import yargs, { type Argv, type CommandModule } from 'yargs';
import { CliError } from './cli-error.js';
import { printable } from './printable.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Words yargs would read into its own fields instead of an option: `-_` (alone or in a cluster such as `-x_`) and
 * `--_` replace the list of positional words and crash its parser, `--$0` the program name. Refused up front.
 */
const PARSER_FIELDS = /^(?:-[^-=]*[_$]|--(?:_|\$0)(?:[=.]|$))/;

/** One program: its name and summary for --help, its commands, and what it sets on the parser itself. */
export interface CliProgram<Args> {
  name: string;
  summary: string;
  /** What --version prints: the package's version. */
  version: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command takes its own arguments; yargs checks them
  commands: readonly CommandModule<Args, any>[];
  /** Global options and the program's own parser settings. */
  configure: (parser: Argv) => Argv<Args>;
}

/**
 * Runs a program with these arguments and returns its exit code, writing `error: <message>` on stderr for a
 * failure; never exits the process itself.
 */
export async function runProgram<Args>(
  args: readonly string[],
  stderr: (text: string) => void,
  program: CliProgram<Args>,
): Promise<number> {
  const field = args.find((word) => PARSER_FIELDS.test(word));
  if (field !== undefined) {
    stderr(`error: ${errorLine(`Unknown argument: ${field}`, true)}\n`);
    return EXIT_USAGE;
  }
  // Anything that fails before a command's handler runs is a usage error: the arguments were wrong. The handler
  // marks its own start: a middleware would run before a command's .check(), whose refusals are usage errors too.
  let handlerStarted = false;
  let parser = program
    .configure(yargs([...args]))
    .scriptName(program.name)
    .usage(`$0 <command> [options]\n\n${program.summary}`);
  for (const command of program.commands) {
    parser = parser.command({
      ...command,
      handler: (argv) => {
        handlerStarted = true;
        return command.handler(argv);
      },
    });
  }
  parser = parser
    .demandCommand(1, `name a command: ${listed(program.commands.map(commandName))}`)
    .strict()
    // Messages in English whatever LANG says: the same words in logs, docs and tests.
    .detectLocale(false)
    .exitProcess(false)
    .fail(false)
    .help()
    .version(program.version)
    .wrap(Math.min(110, process.stdout.columns || 110));
  try {
    await parser.parseAsync();
    return EXIT_OK;
  } catch (error) {
    const usage = error instanceof CliError ? error.isUsageError : !handlerStarted;
    const message = error instanceof Error ? error.message : String(error);
    stderr(`error: ${errorLine(message, usage)}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/**
 * The message as one line of plain text. A usage error keeps all of it (yargs and our checks quote the argument
 * as given, which may hold a newline); a failure keeps its first line, the rest being detail. Control characters
 * and line separators are escaped either way, so an argument cannot break the line or drive the terminal.
 */
function errorLine(message: string, usage: boolean): string {
  return printable(usage ? message : (message.split('\n')[0] ?? ''));
}

/** `scale <slots>` → `scale`. */
function commandName({ command }: { command?: string | readonly string[] }): string {
  return String([command].flat()[0]).split(' ')[0] ?? '';
}

/** `a, b or c`. */
function listed(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
