import { readFileSync } from 'node:fs';

/**
 * The `version` of the package.json at this URL, read when asked: a command reports the package it was installed
 * from, so a version bump touches package.json alone.
 */
export function packageVersion(packageJson: URL): string {
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || version === '') throw new Error(`${packageJson.pathname}: no version`);
  return version;
}
