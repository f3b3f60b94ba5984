import * as z from 'zod';

// Plain names only: no `.` or `..` component, no spaces, no shell or HTCondor metacharacters, no `:` (Docker's
// separator). A path says where it is.
export const ABSOLUTE_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._@+-]+)+$/;

/** A path in the pilot's options, the factory's configuration or a mount; `what` says whose where it matters. */
export function absolutePath(what?: 'host' | 'container') {
  const name = what ? `an absolute ${what} path` : 'an absolute path';
  return z.string({ error: name }).regex(ABSOLUTE_PATH, `${name} of plain names (letters, digits, . _ @ + -)`);
}

/** A whole number in a range, every message naming the unit: `whole seconds ≥ 1`. */
export function wholeNumber(min: number, max: number, unit = 'a whole number') {
  return z.number({ error: unit }).int(unit).min(min, `${unit} ≥ ${min}`).max(max, `${unit} ≤ ${max}`);
}

/** An environment variable's name, for the job environment and the factory's slot environment. */
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');
