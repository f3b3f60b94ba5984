import fc from 'fast-check';
import { shelly } from './arbitraries.js';

/** Values a flag may be given: numbers in every odd spelling, empty, hostile and long text, and plain words. */
export const oddValue = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      '-1',
      '0',
      '1',
      '1.5',
      '-0',
      '1e309',
      '1e3',
      'NaN',
      'Infinity',
      '0x10',
      '',
      ' ',
      '99999999999999999999',
      'true',
      'false',
    ),
    fc.integer().map(String),
    fc.double().map(String),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
    shelly(),
    fc.string({ unit: fc.constantFrom('a', '9', '-', '.'), minLength: 200, maxLength: 400 }),
  );

/** What one flag takes: its name (as given, without dashes) and the values worth trying for it. */
export interface FlagSpec {
  name: string;
  value: fc.Arbitrary<string>;
}

/**
 * One argv word or a few: a flag in each spelling yargs reads (`--f v`, `--f=v`, `--no-f`, `--f` alone, `--f.x v`,
 * `-f`), a command word, `--`, or a stray word.
 */
export const argvPiece = (flags: readonly FlagSpec[], words: readonly string[]): fc.Arbitrary<string[]> => {
  const flag = fc.constantFrom(...flags);
  return fc.oneof(
    { weight: 4, arbitrary: flag.chain((f) => f.value.map((v) => [`--${f.name}`, v])) },
    { weight: 2, arbitrary: flag.chain((f) => f.value.map((v) => [`--${f.name}=${v}`])) },
    { weight: 1, arbitrary: flag.map((f) => [`--${f.name}`]) },
    { weight: 1, arbitrary: flag.map((f) => [`--no-${f.name}`]) },
    { weight: 1, arbitrary: flag.chain((f) => f.value.map((v) => [`--${f.name}.x`, v])) },
    { weight: 1, arbitrary: fc.constantFrom('-x', '-j', '--', '-', '---', '--bogus', '--=x').map((w) => [w]) },
    { weight: 2, arbitrary: fc.constantFrom(...words).map((w) => [w]) },
    { weight: 1, arbitrary: oddValue().map((w) => [w]) },
  );
};

/** An argv: a command word (usually a known one) followed by pieces. */
export const argvOf = (
  commands: readonly string[],
  flags: readonly FlagSpec[],
  maxPieces = 6,
): fc.Arbitrary<string[]> =>
  fc
    .tuple(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...commands).map((c) => [c]) },
        { weight: 1, arbitrary: fc.constant<string[]>([]) },
      ),
      fc.array(argvPiece(flags, commands), { maxLength: maxPieces }),
    )
    .map(([command, pieces]) => [...command, ...pieces.flat()]);

/** A stack trace in the output means an exception escaped unreported. */
export const STACK_FRAME = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at [^ ]+:\d+:\d+$/m;

/** What a JavaScript runtime error says: such a message reaching the user means input got where it should not. */
export const RUNTIME_ERROR =
  /TypeError|is not a function|Cannot read propert|must be of type|is not iterable|Received an instance|undefined|\[object /;
