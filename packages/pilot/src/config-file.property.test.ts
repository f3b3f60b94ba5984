import { afterAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readOptionsFile } from './config-file.js';
import { PilotError } from './errors.js';
import { checkOptionsFile, pilotOptionsSchema } from './options.js';
import { documentTextOf, isOneLine } from '@docker-cernvm/cli-kit/testing';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Any document at all, as a pilot options file: it is read and checked into options, or refused with
// E_BAD_CONFIG and one line that names the file and, for a key's problem, a key the document has.

const tmp = await mkdtemp(path.join(tmpdir(), 'config-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
let counter = 0;

const KEYS = Object.keys(pilotOptionsSchema.shape);
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '127.0.0.1',
    'pool.example.org',
    'slot-1',
    '/pilot',
    'auto',
    'host',
    'bridge',
    'True',
    1,
    64,
    300,
    true,
  ),
);
/** Mostly mappings of real keys (some misspelt), with values of every type. */
const mapping = fc.dictionary(
  fc.oneof(fc.constantFrom(...KEYS, 'colector', 'Cpus', '__proto__', ''), fc.string({ maxLength: 8 })),
  value,
  {
    maxKeys: 5,
  },
);
const documentText = documentTextOf(mapping);

describe('pilot options file: any document', () => {
  it('is read and checked, or refused with one E_BAD_CONFIG line naming the file (and the key)', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(documentText, async (text) => {
        const file = path.join(tmp, `p${++counter}.yaml`);
        await writeFile(file, text);
        let document: Record<string, unknown> | undefined;
        try {
          document = await readOptionsFile(file);
          checkOptionsFile(document, file);
          seen.accepted++;
          return;
        } catch (error) {
          seen.refused++;
          const where = { text, error: String(error) };
          expect({ ...where, pilotError: error instanceof PilotError }).toEqual({ ...where, pilotError: true });
          const { code, message } = error as PilotError;
          expect({ ...where, code, oneLine: isOneLine(message), file: message.startsWith(`${file}: `) }).toEqual({
            ...where,
            code: 'E_BAD_CONFIG',
            oneLine: true,
            file: true,
          });
          const said = message.slice(file.length + 2);
          const unknown = /^unknown key ("(?:[^"\\]|\\.)*")/.exec(said)?.[1];
          const key =
            unknown !== undefined
              ? (JSON.parse(unknown) as string)
              : /^([A-Za-z]+)[.:] /.exec(said.replace(/^(\w+)\..*?: /, '$1: '))?.[1];
          if (key !== undefined)
            expect({ ...where, known: document !== undefined && key in document }).toEqual({ ...where, known: true });
          else expect(said).toMatch(/^(?:not valid YAML: .+|expected a mapping of keys to values)$/);
        }
      }),
      { numRuns: 500 },
    );
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(100);
  });
});
