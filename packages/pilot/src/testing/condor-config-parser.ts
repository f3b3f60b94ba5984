/**
 * Reads HTCondor configuration text the way condor_config_val would see the knobs we render: `KEY = value`
 * assignments (names case-insensitive, the later one wins, `$(KEY)` in a knob's own value is its previous value),
 * `use CATEGORY : template` metaknobs and `include : file` lines (recorded, not expanded), `#` comments, blank
 * lines, and a trailing `\` joining the next line. Anything else is an error, so a malformed line fails the test.
 */
export interface CondorConfig {
  /** The knob's value after every assignment, in the order read; undefined when it was never set. */
  get(key: string): string | undefined;
  has(key: string): boolean;
  /** Every knob set, upper-cased. */
  keys(): string[];
  /** Metaknobs in the order read, as `CATEGORY:template`. */
  readonly uses: readonly string[];
  /** Files named by `include` lines, in the order read. */
  readonly includes: readonly string[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/;
const METAKNOB = /^use\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/i;
const INCLUDE = /^include\s*(?:ifexist\s*)?(?:command\s*)?:\s*(.+)$/i;

function logicalLines(text: string): { number: number; line: string }[] {
  const result: { number: number; line: string }[] = [];
  let pending: { number: number; line: string } | undefined;
  text.split('\n').forEach((raw, index) => {
    const joined = pending ? { number: pending.number, line: pending.line + raw } : { number: index + 1, line: raw };
    if (joined.line.endsWith('\\')) {
      pending = { number: joined.number, line: joined.line.slice(0, -1) };
    } else {
      pending = undefined;
      result.push(joined);
    }
  });
  if (pending) result.push(pending);
  return result;
}

/** Parses the texts in order, as HTCondor reads config.d: each later file may override the ones before. */
export function parseCondorConfig(...texts: string[]): CondorConfig {
  const values = new Map<string, string>();
  const uses: string[] = [];
  const includes: string[] = [];
  texts.forEach((text, file) => {
    for (const { number, line: raw } of logicalLines(text)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const metaknob = METAKNOB.exec(line);
      if (metaknob) {
        for (const template of metaknob[2]!.split(',')) uses.push(`${metaknob[1]!.toUpperCase()}:${template.trim()}`);
        continue;
      }
      const include = INCLUDE.exec(line);
      if (include) {
        includes.push(include[1]!.trim());
        continue;
      }
      const assignment = ASSIGNMENT.exec(line);
      if (!assignment) throw new Error(`text ${file + 1}, line ${number}: not an HTCondor config line: ${raw}`);
      const key = assignment[1]!.toUpperCase();
      const selfReference = new RegExp(`\\$\\(${key.replace(/\./g, '\\.')}\\)`, 'gi');
      values.set(key, assignment[2]!.replace(selfReference, () => values.get(key) ?? '').trim());
    }
  });
  return {
    get: (key) => values.get(key.toUpperCase()),
    has: (key) => values.has(key.toUpperCase()),
    keys: () => [...values.keys()],
    uses,
    includes,
  };
}
