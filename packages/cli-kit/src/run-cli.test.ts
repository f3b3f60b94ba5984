import { beforeEach, describe, expect, it } from '@jest/globals';
import type { CommandModule } from 'yargs';
import { CliError } from './cli-error.js';
import { consoleLogOf } from './testing/console-log.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliProgram, runProgram } from './run-cli.js';

class DemoError extends CliError<'E_BAD_INPUT' | 'E_DOWN'> {
  override readonly name = 'DemoError';

  override get isUsageError(): boolean {
    return this.code === 'E_BAD_INPUT';
  }
}

let err = '';
let ran: unknown[] = [];
beforeEach(() => {
  err = '';
  ran = [];
});

/** A command whose handler records its arguments, then throws what it is given. */
function command(
  name: string,
  thrown?: unknown,
  check?: () => void,
): CommandModule<{ loud: boolean }, { loud: boolean; word?: string }> {
  return {
    command: `${name} [word]`,
    describe: name,
    builder: (argv) => (check ? argv.check(() => (check(), true)) : argv),
    handler: (argv) => {
      ran.push([name, argv.word, argv.loud]);
      if (thrown !== undefined) throw thrown;
    },
  };
}

function program(
  ...commands: CommandModule<{ loud: boolean }, { loud: boolean; word?: string }>[]
): CliProgram<{ loud: boolean }> {
  return {
    name: 'demo',
    summary: 'A program for the tests.',
    version: '1.2.3-test',
    commands,
    configure: (parser) => parser.option('loud', { type: 'boolean', default: false }),
  };
}

const run = (args: string[], ...commands: CommandModule<{ loud: boolean }, { loud: boolean; word?: string }>[]) =>
  runProgram(args, (text) => (err += text), program(...commands));

describe('runProgram', () => {
  it('prints the program’s version for --version and exits 0, running no command', async () => {
    const { result, printed } = await consoleLogOf(() => run(['--version'], command('say')));
    expect({ result, printed, ran, err }).toEqual({ result: EXIT_OK, printed: ['1.2.3-test'], ran: [], err: '' });
  });

  it('runs the command named, with the options the program configured, and exits 0', async () => {
    expect(await run(['say', 'a_b', '--loud'], command('say'), command('other'))).toBe(EXIT_OK);
    expect({ ran, err }).toEqual({ ran: [['say', 'a_b', true]], err: '' });
  });

  it.each(['-_', '-x_', '-$', '--_', '--_=x', '--_.y', '--$0', '--$0=x'])(
    'refuses %j, which yargs would read into its own fields, with exit 2',
    async (word) => {
      expect(await run(['say', word], command('say'))).toBe(EXIT_USAGE);
      expect({ ran, err }).toEqual({ ran: [], err: `error: Unknown argument: ${word}\n` });
    },
  );

  it.each<[string, string[], string]>([
    ['no command', [], 'error: name a command: say, fail or check\n'],
    ['an unknown command', ['frobnicate'], 'error: Unknown argument: frobnicate\n'],
    ['an unknown flag', ['say', '--bogus'], 'error: Unknown argument: bogus\n'],
    [
      'a control character in an argument',
      ['say', 'a', 'b\n\u001b[2J'],
      'error: Unknown argument: b\\u000a\\u001b[2J\n',
    ],
  ])('refuses %s with exit 2 and one line, before any handler', async (_name, args, line) => {
    expect(await run(args, command('say'), command('fail'), command('check'))).toBe(EXIT_USAGE);
    expect({ ran, err }).toEqual({ ran: [], err: line });
  });

  it('names the one command there is on its own', async () => {
    expect(await run([], command('say'))).toBe(EXIT_USAGE);
    expect(err).toBe('error: name a command: say\n');
  });

  it("takes a command's .check() refusal for a usage error", async () => {
    const check = () => {
      throw new Error('say: expected quieter');
    };
    expect(await run(['say'], command('say', undefined, check))).toBe(EXIT_USAGE);
    expect({ ran, err }).toEqual({ ran: [], err: 'error: say: expected quieter\n' });
  });

  it.each<[string, unknown, number, string]>([
    [
      'a failure, keeping its first line',
      new Error('the engine is down\n  at detail'),
      EXIT_FAILURE,
      'error: the engine is down\n',
    ],
    ['a failure of this code', new DemoError('E_DOWN', 'down\nmore'), EXIT_FAILURE, 'error: down\n'],
    [
      'a usage error, keeping all of it on one line',
      new DemoError('E_BAD_INPUT', 'bad "a\nb"'),
      EXIT_USAGE,
      'error: bad "a\\u000ab"\n',
    ],
    ['something not an Error', 'a\u0007string', EXIT_FAILURE, 'error: a\\u0007string\n'],
  ])('reports %s thrown by a handler', async (_name, thrown, code, line) => {
    expect(await run(['fail'], command('fail', thrown))).toBe(code);
    expect({ ran, err }).toEqual({ ran: [['fail', undefined, false]], err: line });
  });
});
