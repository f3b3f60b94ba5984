import { stat } from 'node:fs/promises';
import { PilotError } from './errors.js';

/**
 * Checks the pool token on the host before a container is made: HTCondor refuses a token others can read, and a
 * missing or empty one would only show up later as a pilot that never joins. Never reads the content.
 */
export async function checkHostToken(file: string): Promise<void> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new PilotError(
      'E_BAD_TOKEN',
      `no pool token at ${file}: create one with condor_token_create on the central manager`,
    );
  }
  if (!info.isFile()) throw new PilotError('E_BAD_TOKEN', `the pool token ${file} is not a regular file`);
  if (info.size === 0) throw new PilotError('E_BAD_TOKEN', `the pool token ${file} is empty`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8);
    throw new PilotError('E_BAD_TOKEN', `the pool token ${file} has mode ${mode}: others can read it; chmod 600 it`);
  }
  if (info.uid !== 0) {
    throw new PilotError(
      'E_BAD_TOKEN',
      `the pool token ${file} is owned by uid ${info.uid}: HTCondor reads it as root; chown root it`,
    );
  }
}
