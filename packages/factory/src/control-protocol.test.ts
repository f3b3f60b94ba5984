import { describe, expect, it } from '@jest/globals';
import { MAX_SLOTS } from './config.js';
import { MAX_REQUEST_BYTES, parseControlRequest } from './control-protocol.js';
import { seededRandom } from './testing/observed.js';

const UNKNOWN = 'unknown command: expected one of status, drain, resume, reload, scale';
const MALFORMED = 'malformed request: expected one JSON object';
const SLOTS = `slots: expected a whole number from 0 to ${MAX_SLOTS}`;

describe('parseControlRequest: accepted requests', () => {
  it.each<[string, unknown]>([
    ['{"command":"status"}', { command: 'status' }],
    ['{"command":"drain"}', { command: 'drain' }],
    ['{"command":"resume"}', { command: 'resume' }],
    ['{"command":"reload"}', { command: 'reload' }],
    ['{"command":"scale","slots":0}', { command: 'scale', slots: 0 }],
    ['{"command":"scale","slots":8}', { command: 'scale', slots: 8 }],
    [`{"command":"scale","slots":${MAX_SLOTS}}`, { command: 'scale', slots: MAX_SLOTS }],
    ['{"command":"scale","slots":3,"force":true}', { command: 'scale', slots: 3, force: true }],
    ['{"command":"scale","slots":3,"force":false}', { command: 'scale', slots: 3, force: false }],
    ['{"slots":2,"command":"scale"}', { command: 'scale', slots: 2 }],
    ['  {"command":"status"}  ', { command: 'status' }],
    ['{"command":"scale","slots":4.0}', { command: 'scale', slots: 4 }], // JSON has one number type: 4.0 is 4
  ])('%s', (text, request) => {
    expect(parseControlRequest(text)).toEqual({ request });
  });
});

describe('parseControlRequest: refusals, each one line', () => {
  it.each<[string, string, string]>([
    ['malformed JSON', '{"command": "scale", "slots": 5', MALFORMED],
    ['not JSON at all', 'not json', MALFORMED],
    ['empty', '', MALFORMED],
    ['two objects', '{"command":"status"}{"command":"drain"}', MALFORMED],
    ['two lines', '{"command":"status"}\n{"command":"drain"}', MALFORMED],
    ['an array', '[{"command":"status"}]', MALFORMED],
    ['an empty array', '[]', MALFORMED],
    ['null', 'null', MALFORMED],
    ['a number', '42', MALFORMED],
    ['a string', '"status"', MALFORMED],
    ['true', 'true', MALFORMED],
    ['an unknown command', '{"command":"format-disk"}', UNKNOWN],
    ['a command in the wrong case', '{"command":"STATUS"}', UNKNOWN],
    ['an inherited property name as command', '{"command":"constructor"}', UNKNOWN],
    ['a missing command', '{}', UNKNOWN],
    ['a missing command with slots', '{"slots":3}', UNKNOWN],
    ['a numeric command', '{"command":5}', UNKNOWN],
    ['a null command', '{"command":null}', UNKNOWN],
    ['an array command', '{"command":["status"]}', UNKNOWN],
    ['scale without slots', '{"command":"scale"}', SLOTS],
    ['negative slots', '{"command":"scale","slots":-1}', SLOTS],
    ['fractional slots', '{"command":"scale","slots":2.5}', SLOTS],
    ['too many slots', `{"command":"scale","slots":${MAX_SLOTS + 1}}`, SLOTS],
    ['huge slots', '{"command":"scale","slots":1e400}', SLOTS],
    ['slots as a string', '{"command":"scale","slots":"3"}', SLOTS],
    ['slots as null', '{"command":"scale","slots":null}', SLOTS],
    ['slots as true', '{"command":"scale","slots":true}', SLOTS],
    ['slots as an array', '{"command":"scale","slots":[3]}', SLOTS],
    ['force as a string', '{"command":"scale","slots":3,"force":"yes"}', 'force: expected true or false'],
    ['force as a number', '{"command":"scale","slots":3,"force":1}', 'force: expected true or false'],
    ['force as null', '{"command":"scale","slots":3,"force":null}', 'force: expected true or false'],
    ['an unknown key on scale', '{"command":"scale","slots":3,"extra":true}', 'unknown key "extra"'],
    ['an unknown key on status', '{"command":"status","verbose":true}', 'unknown key "verbose"'],
    ['slots on a command without any', '{"command":"drain","slots":3}', 'unknown key "slots"'],
    ['force on drain', '{"command":"drain","force":true}', 'unknown key "force"'],
    ['a __proto__ key', '{"command":"status","__proto__":{"polluted":true}}', 'unknown key "__proto__"'],
    // Found by the property tests: a key holding a quote or a newline was shown raw.
    ['a key with a quote', '{"command":"status","\\"":1}', String.raw`unknown key "\""`],
    ['a key with a newline', '{"command":"status","a\\nb":1}', String.raw`unknown key "a\nb"`],
    ['a key with U+2028', '{"command":"status","a\u2028b":1}', String.raw`unknown key "a\u2028b"`],
  ])('%s', (_name, text, error) => {
    expect(parseControlRequest(text)).toEqual({ error });
  });

  it('does not let a __proto__ key reach Object.prototype', () => {
    parseControlRequest('{"command":"status","__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps its limit small: one request is a few dozen bytes', () => {
    expect(MAX_REQUEST_BYTES).toBe(4096);
  });
});

/** A random JSON value: mostly objects shaped like requests, with wrong types, keys and values mixed in. */
function randomJson(random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const scalars: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1.5,
    3,
    MAX_SLOTS,
    MAX_SLOTS + 1,
    1e308,
    -0,
    '',
    '3',
    'status',
    'scale',
    'drain',
    'resume',
    'reload',
    'bogus',
    '__proto__',
    'ü\u0000\u2028',
  ];
  const roll = random();
  if (depth > 2 || roll < 0.3) return pick(scalars);
  if (roll < 0.4) return Array.from({ length: Math.floor(random() * 3) }, () => randomJson(random, depth + 1));
  const object: Record<string, unknown> = {};
  const keys = ['command', 'slots', 'force', 'extra', '__proto__', 'constructor', ''];
  for (let i = Math.floor(random() * 4); i > 0; i--) object[pick(keys)] = randomJson(random, depth + 1);
  if (random() < 0.6) object.command = pick(['status', 'drain', 'resume', 'reload', 'scale', 'nope', 7]);
  if (random() < 0.4) object.slots = pick(scalars);
  return object;
}

/** The text of a value, sometimes damaged (cut short, or a byte changed) so that it is not JSON any more. */
function randomText(random: () => number): string {
  const text = JSON.stringify(randomJson(random)) ?? 'undefined';
  const roll = random();
  if (roll < 0.15) return text.slice(0, Math.floor(random() * text.length));
  if (roll < 0.3) {
    const at = Math.floor(random() * text.length);
    return `${text.slice(0, at)}${String.fromCharCode(Math.floor(random() * 128))}${text.slice(at + 1)}`;
  }
  return text;
}

describe('parseControlRequest: any input at all', () => {
  it.each([1, 2, 3, 4, 5])('never throws, and answers either a valid request or a one-line error (seed %i)', (seed) => {
    const random = seededRandom(seed);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const text = randomText(random);
      let result: ReturnType<typeof parseControlRequest>;
      try {
        result = parseControlRequest(text);
      } catch (error) {
        throw new Error(`seed ${seed}, case ${i}: parseControlRequest(${JSON.stringify(text)}) threw ${String(error)}`);
      }
      const keys = Object.keys(result);
      expect(keys.length).toBe(1);
      if ('error' in result) {
        refused++;
        expect(typeof result.error).toBe('string');
        expect(result.error.length).toBeGreaterThan(0);
        expect(result.error).not.toContain('\n');
        expect(result.error).not.toMatch(/Invalid input/);
      } else {
        accepted++;
        const { request } = result;
        // Whatever got through is exactly one of the shapes, with no extra key.
        if (request.command === 'scale') {
          expect(Number.isInteger(request.slots) && request.slots >= 0 && request.slots <= MAX_SLOTS).toBe(true);
          expect(Object.keys(request).every((k) => ['command', 'slots', 'force'].includes(k))).toBe(true);
          if ('force' in request) expect(typeof request.force).toBe('boolean');
        } else {
          expect(['status', 'drain', 'resume', 'reload']).toContain(request.command);
          expect(Object.keys(request)).toEqual(['command']);
        }
        // And what the text says really is that request.
        expect(JSON.parse(text)).toEqual(request);
      }
    }
    // The generator reaches both sides, or this test would prove little.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(200);
  });
});
