import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EngineRoot } from './engine-root.js';

describe('EngineRoot', () => {
  let root: string;
  beforeAll(async () => {
    root = await realpath(await mkdtemp(path.join(tmpdir(), 'engine-root-')));
    await mkdir(path.join(root, 'run', 'docker'), { recursive: true });
    await writeFile(path.join(root, 'run', 'docker', 'marker'), '');
    await mkdir(path.join(root, 'var', 'lib', 'docker'), { recursive: true });
    // As in a Debian root: an absolute link, which must resolve inside the root, not to the host's /run.
    await symlink('/run', path.join(root, 'var', 'run'));
    await symlink('lib/docker', path.join(root, 'var', 'docker-link'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('maps engine paths under the root, following absolute links inside it', async () => {
    const engine = new EngineRoot(root);
    await expect(engine.hostPath('/var/run/docker/marker')).resolves.toBe(path.join(root, 'run', 'docker', 'marker'));
    await expect(engine.hostPath('/var/docker-link')).resolves.toBe(path.join(root, 'var', 'lib', 'docker'));
    await expect(engine.hostPath('/../../var/lib/docker')).resolves.toBe(path.join(root, 'var', 'lib', 'docker'));
    expect(engine.joined('/run/docker.sock')).toBe(path.join(root, 'run', 'docker.sock'));
    expect(engine.isHost).toBe(false);
  });

  it('is the identity (with symlinks resolved) for the host root', async () => {
    const host = new EngineRoot('/');
    expect(host.isHost).toBe(true);
    await expect(host.hostPath(path.join(root, 'var', 'docker-link'))).resolves.toBe(
      path.join(root, 'var', 'lib', 'docker'),
    );
  });

  it('refuses a relative root and a path that is not there', async () => {
    expect(() => new EngineRoot('chroot')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    await expect(new EngineRoot(root).hostPath('/missing')).rejects.toThrow();
    await expect(new EngineRoot(path.join(root, 'absent')).hostPath('/var')).rejects.toMatchObject({
      code: 'E_BAD_OPTION',
    });
  });
});
