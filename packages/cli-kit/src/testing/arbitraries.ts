import fc from 'fast-check';

/** Characters a shell, a mount option list (`-o a,b=c`) or a terminal would read as more than text. */
export const SHELL_METACHARACTERS = [...' \t\n\r;&|$<>()`\'"\\*?[]{}!#~,=:%^\0\x1b\x7f\u2028\u00a0'];

/** Strings made of path pieces: `..`, `.`, empty components, leading and trailing slashes, mixed with names. */
export const pathLike = (
  pieces: readonly string[] = ['cvm4', 'cernvm-prod.cern.ch', 'a', 'cernvm', '4'],
): fc.Arbitrary<string> =>
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
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom(...SHELL_METACHARACTERS, '/', '..', '../', '$(id)', '`id`', 'é', '\u0301', 'A'),
    )
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
  return (
    text.length > 0 &&
    [...text].every((c) => {
      const code = c.codePointAt(0)!;
      return code >= 0x20 && !(code >= 0x7f && code <= 0x9f) && code !== 0x2028 && code !== 0x2029;
    })
  );
}
