import { jest } from '@jest/globals';
import { readFile } from 'node:fs/promises';

/** What `run` printed with console.log, which is where yargs prints --help and --version. */
export async function consoleLogOf<T>(run: () => Promise<T>): Promise<{ result: T; printed: string[] }> {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((text: unknown) => void printed.push(String(text)));
  try {
    return { result: await run(), printed };
  } finally {
    log.mockRestore();
  }
}

/** The version in the package.json at this URL, read here apart from the code under test. */
export async function versionIn(packageJson: URL): Promise<string> {
  return (JSON.parse(await readFile(packageJson, 'utf8')) as { version: string }).version;
}
