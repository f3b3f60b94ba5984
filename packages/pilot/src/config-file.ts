import { readFile } from 'node:fs/promises';
import { printable } from '@docker-cernvm/cli-kit';
import { PilotError } from './errors.js';

/**
 * Reads a YAML (or JSON) file into a plain object (the pilot's options, the factory's configuration); the schema
 * check happens after flags are merged.
 */
export async function readOptionsFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PilotError(
      'E_BAD_CONFIG',
      `${printable(file)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: error,
      },
    );
  }
  // Loaded here, not with the module: only a command given a configuration file pays for the YAML parser.
  const { parse } = await import('yaml');
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    const first = (error as Error).message.split('\n')[0]?.replace(/:$/, '');
    throw new PilotError('E_BAD_CONFIG', `${printable(file)}: not valid YAML: ${printable(first ?? '')}`, {
      cause: error,
    });
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PilotError('E_BAD_CONFIG', `${printable(file)}: expected a mapping of keys to values`);
  }
  return value as Record<string, unknown>;
}
