/**
 * Text from outside (an argument, a key, a value, a path) made safe for a one-line message: control characters and
 * line separators escaped, so it can neither break the line nor drive the terminal.
 */
export function printable(text: string): string {
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escape);
}
