import { describe, expect, it } from '@jest/globals';
import { createLogger, shortId } from './logger.js';

const AT = new Date('2026-01-02T03:04:05.678Z');

function capture(format: 'human' | 'json') {
  const lines: string[] = [];
  const logger = createLogger(
    format,
    (line) => lines.push(line),
    () => AT,
  );
  return { logger, lines };
}

describe('createLogger: human', () => {
  it('writes time, level, event and fields on one line', () => {
    const { logger, lines } = capture('human');
    logger.log('info', 'slot-started', { slot: 3, id: 'abc123', ms: 41 });
    expect(lines).toEqual(['2026-01-02T03:04:05.678Z info  slot-started slot=3 id=abc123 ms=41\n']);
  });

  it('pads the level so events line up', () => {
    const { logger, lines } = capture('human');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) logger.log(level, 'e');
    expect(lines.map((l) => l.indexOf(' e\n'))).toEqual([30, 30, 30, 30]);
  });

  it.each<[string | number | boolean, string]>([
    ['plain', 'k=plain'],
    ['two words', 'k="two words"'],
    ['say "hi"', 'k="say \\"hi\\""'],
    ['a=b', 'k="a=b"'],
    ['', 'k=""'],
    [false, 'k=false'],
    [0.5, 'k=0.5'],
  ])('quotes a value only when it needs it: %j', (value, text) => {
    const { logger, lines } = capture('human');
    logger.log('info', 'e', { k: value });
    expect(lines[0]).toBe(`2026-01-02T03:04:05.678Z info  e ${text}\n`);
  });

  it('keeps a value with a newline on one line', () => {
    const { logger, lines } = capture('human');
    logger.log('error', 'action-failed', { error: 'first\nsecond' });
    expect(lines[0]!.split('\n')).toHaveLength(2);
  });

  it('leaves out undefined fields, and the trailing space when there are none', () => {
    const { logger, lines } = capture('human');
    logger.log('info', 'factory-stopped', { retry: undefined });
    logger.log('info', 'factory-drained');
    expect(lines).toEqual([
      '2026-01-02T03:04:05.678Z info  factory-stopped\n',
      '2026-01-02T03:04:05.678Z info  factory-drained\n',
    ]);
  });
});

describe('createLogger: json', () => {
  it('writes one JSON object per line with time, level, event and the fields', () => {
    const { logger, lines } = capture('json');
    logger.log('warn', 'slot-exited', { slot: 2, code: 1, reason: 'failed', retry_in_s: undefined, pin: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-01-02T03:04:05.678Z',
      level: 'warn',
      event: 'slot-exited',
      slot: 2,
      code: 1,
      reason: 'failed',
      pin: true,
    });
  });

  it('escapes a newline in a value', () => {
    const { logger, lines } = capture('json');
    logger.log('error', 'e', { error: 'a\nb' });
    expect(JSON.parse(lines[0]!).error).toBe('a\nb');
    expect(lines[0]!.trimEnd()).not.toContain('\n');
  });
});

describe('shortId', () => {
  it('keeps the first 12 characters, as docker ps shows them', () => {
    expect(shortId('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef')).toBe('0123456789ab');
    expect(shortId('abc')).toBe('abc');
  });
});
