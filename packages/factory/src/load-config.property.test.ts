import { afterAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { factoryConfigSchema } from './config.js';
import { FactoryError } from './errors.js';
import { loadFactoryConfig } from './load-config.js';
import { documentTextOf, isOneLine } from '@docker-cernvm/cli-kit/testing';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Any document at all, as the factory's --config file: it loads into a configuration, or it is refused with
// E_BAD_CONFIG (E_BAD_SLOTS for a missing count) and one line that names the file and, for a key's problem, a key
// the document really has.

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-config-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
let counter = 0;

const KEYS = Object.keys(factoryConfigSchema.shape);
const PILOT_KEYS = ['idleShutdownSeconds', 'heartbeatSeconds', 'start', 'attributes', 'siteSnippets', 'bogus'];
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    1,
    2,
    64,
    2048,
    0,
    -1,
    1.5,
    'cernvm:4',
    'host',
    'none',
    'json',
    '/var/lib/x',
    '127.0.0.1:9618',
    true,
    'a\tb',
    '',
  ),
  fc.dictionary(fc.constantFrom(...PILOT_KEYS), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);
const key = fc.oneof(fc.constantFrom(...KEYS, ...KEYS, 'slot', 'Slots', '__proto__', ''), fc.string({ maxLength: 6 }));
const mapping = fc.dictionary(key, value, { maxKeys: 5 }).map((m) => ({ slots: 1, ...m }));
const documentText = documentTextOf(mapping);

describe('factory --config: any document', () => {
  it('loads, or is refused with one line naming the file (and the key)', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(documentText, async (text) => {
        const file = path.join(tmp, `f${++counter}.yaml`);
        await writeFile(file, text);
        try {
          await loadFactoryConfig({ file, env: {}, flags: {} });
          seen.accepted++;
          return;
        } catch (error) {
          seen.refused++;
          const where = { text, error: String(error) };
          expect({ ...where, factoryError: error instanceof FactoryError }).toEqual({ ...where, factoryError: true });
          const { code, message } = error as FactoryError;
          expect({ ...where, oneLine: isOneLine(message), zod: /Invalid input/.test(message) }).toEqual({
            ...where,
            oneLine: true,
            zod: false,
          });
          if (code === 'E_BAD_SLOTS') return expect(message).toMatch(/^--slots: expected how many slots to run/);
          expect({ ...where, code, file: message.startsWith(`${file}: `) }).toEqual({
            ...where,
            code: 'E_BAD_CONFIG',
            file: true,
          });
          const said = message.slice(file.length + 2);
          const unknown = /^unknown key ("(?:[^"\\]|\\.)*")$/.exec(said)?.[1];
          if (unknown !== undefined) {
            // The document's own key (a nested one as <section>.<key>), quoted so that any character shows as itself.
            const named = JSON.parse(unknown) as string;
            const document = parse(text) as Record<string, unknown>;
            const [section = '', ...rest] = named.split('.');
            const inner = (document[section] ?? {}) as Record<string, unknown>;
            const known = Object.hasOwn(document, named) || (rest.length > 0 && Object.hasOwn(inner, rest.join('.')));
            expect({ ...where, named, known }).toEqual({ ...where, named, known: true });
            return;
          }
          const top = /^([A-Za-z]+)(?:\.(?:"(?:[^"\\]|\\.)*"|[^:."]+))*: expected /.exec(said)?.[1];
          if (top !== undefined) return expect(KEYS).toContain(top);
          expect(said).toMatch(/^(?:not valid YAML: .+|expected a mapping of keys to values)$/);
        }
      }),
      { numRuns: 400 },
    );
    expect(seen.accepted).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(100);
  });
});
