// A copy of packages/mounter/src/testing/arbitraries.ts and argv.ts (a package's testing folder is not exported).
import fc from 'fast-check';

/** Characters a shell, a mount option list (`-o a,b=c`) or a terminal would read as more than text. */
export const SHELL_METACHARACTERS = [...' \t\n\r;&|$<>()`\'"\\*?[]{}!#~,=:%^\0\x1b\x7f\u2028\u00a0'];

/** Strings made of path pieces: `..`, `.`, empty components, leading and trailing slashes, mixed with names. */
export const pathLike = (pieces: readonly string[] = ['cvm4', 'cernvm-prod.cern.ch', 'a', 'cernvm', '4']): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.boolean(),
      fc.array(fc.constantFrom('..', '.', '', '...', ' ', '~', '-rf', ...pieces), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
    )
    .map(([lead, parts, trail]) => `${lead ? '/' : ''}${parts.join('/')}${trail ? '/' : ''}`);

/** Strings drawn mostly from shell metacharacters and a few letters. */
export const shelly = (): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...SHELL_METACHARACTERS, 'a', 'b', '1', '.', '-', '_', '/'), maxLength: 12 });

/** A valid-looking name with one hostile piece spliced in somewhere. */
export const spliced = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(valid, fc.nat(), fc.constantFrom(...SHELL_METACHARACTERS, '/', '..', '../', '$(id)', '`id`', 'é', '\u0301', 'A'))
    .map(([name, at, piece]) => {
      const i = at % (name.length + 1);
      return `${name.slice(0, i)}${piece}${name.slice(i)}`;
    });

/**
 * Any string at all: unicode (whole graphemes and lone code units), path-like, shell-like, spliced into valid
 * names, and long ones.
 */
export const anyName = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    pathLike(),
    shelly(),
    valid,
    spliced(valid),
    fc.string({ unit: fc.constantFrom('a', '.', '-', '1'), minLength: 120, maxLength: 300 }),
  );

/** One line, for a terminal and a log: not empty, no line break of any kind, no control character. */
export function isOneLine(text: string): boolean {
  return text.length > 0 && [...text].every((c) => {
    const code = c.codePointAt(0)!;
    return code >= 0x20 && !(code >= 0x7f && code <= 0x9f) && code !== 0x2028 && code !== 0x2029;
  });
}

/** Values a flag may be given: numbers in every odd spelling, empty, hostile and long text, and plain words. */
export const oddValue = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom('-1', '0', '1', '1.5', '-0', '1e309', '1e3', 'NaN', 'Infinity', '0x10', '', ' ', '99999999999999999999', 'true', 'false'),
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
export const argvOf = (commands: readonly string[], flags: readonly FlagSpec[], maxPieces = 6): fc.Arbitrary<string[]> =>
  fc
    .tuple(
      fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...commands).map((c) => [c]) }, { weight: 1, arbitrary: fc.constant<string[]>([]) }),
      fc.array(argvPiece(flags, commands), { maxLength: maxPieces }),
    )
    .map(([command, pieces]) => [...command, ...pieces.flat()]);

/** A stack trace in the output means an exception escaped unreported. */
export const STACK_FRAME = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at [^ ]+:\d+:\d+$/m;

/** What a JavaScript runtime error says: such a message reaching the user means input got where it should not. */
export const RUNTIME_ERROR = /TypeError|is not a function|Cannot read propert|must be of type|is not iterable|Received an instance|undefined|\[object /;
