import fc from 'fast-check';
import { stringify } from 'yaml';

/**
 * A configuration file's text: the mapping as YAML or JSON, any value as YAML, the YAML broken on purpose at some
 * point, or any string at all.
 */
export const documentTextOf = (mapping: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> =>
  fc.oneof(
    mapping.map((m) => stringify(m)),
    mapping.map((m) => JSON.stringify(m)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => stringify(v) ?? ''),
    fc
      .tuple(
        mapping.map((m) => stringify(m)),
        fc.nat(),
        fc.constantFrom('[', '{', ': :', '\t', '"', '- ', '&a', '*b', '!!binary ', '\0', '%YAML 9\n---\n'),
      )
      .map(
        ([text, at, piece]) => `${text.slice(0, at % (text.length + 1))}${piece}${text.slice(at % (text.length + 1))}`,
      ),
    fc.string({ maxLength: 40 }),
  );
