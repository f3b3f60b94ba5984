import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkHostToken } from './token-check.js';

describe('checkHostToken', () => {
  let dir: string;
  let token: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'token-check-'));
    token = path.join(dir, 'pool.token');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function writeToken(content: string, mode: number): Promise<void> {
    await writeFile(token, content);
    await chmod(token, mode); // explicitly: writeFile's mode is subject to the umask
  }

  const refusal = (message: RegExp) =>
    expect.objectContaining({ code: 'E_BAD_TOKEN', message: expect.stringMatching(message) });

  it('refuses a missing token, naming the path and how to make one', async () => {
    await expect(checkHostToken(token)).rejects.toThrow(
      refusal(new RegExp(`^no pool token at ${token}: .*condor_token_create`)),
    );
  });

  it('refuses a directory', async () => {
    await mkdir(token);
    await expect(checkHostToken(token)).rejects.toThrow(refusal(/is not a regular file/));
  });

  it('refuses an empty token', async () => {
    await writeToken('', 0o600);
    await expect(checkHostToken(token)).rejects.toThrow(refusal(/is empty/));
  });

  it.each(['644', '640', '604', '660', '666'])('refuses mode %s, saying chmod 600', async (mode) => {
    await writeToken('eyJhbGciOiJIUzI1NiJ9.x.y\n', parseInt(mode, 8));
    await expect(checkHostToken(token)).rejects.toThrow(refusal(new RegExp(`has mode ${mode}: .*chmod 600`)));
  });

  it('refuses a token owned by another user (HTCondor reads it as root)', async () => {
    await writeToken('eyJhbGciOiJIUzI1NiJ9.x.y\n', 0o600);
    await chown(token, 1000, 1000);
    await expect(checkHostToken(token)).rejects.toThrow(refusal(/owned by uid 1000: .*chown root/));
  });

  it.each(['600', '400'])('accepts mode %s owned by root', async (mode) => {
    await writeToken('eyJhbGciOiJIUzI1NiJ9.x.y\n', parseInt(mode, 8));
    await expect(checkHostToken(token)).resolves.toBeUndefined();
  });
});
