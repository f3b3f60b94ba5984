import { describe, expect, it } from '@jest/globals';
import { printable } from './printable.js';

describe('printable', () => {
  it.each([
    ['plain text', 'plain text'],
    ['a\nb', 'a\\u000ab'],
    ['\u001b[31mred', '\\u001b[31mred'],
    ['tab\there', 'tab\\u0009here'],
    ['\u0000\u007f\u0085\u009f', '\\u0000\\u007f\\u0085\\u009f'],
    ['line\u2028para\u2029', 'line\\u2028para\\u2029'],
    ['é ✓ \u00a0', 'é ✓ \u00a0'],
  ])('shows %j as %j', (text, shown) => {
    expect(printable(text)).toBe(shown);
  });
});
