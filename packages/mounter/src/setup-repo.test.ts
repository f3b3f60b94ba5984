import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applySetupRepo, planSetupRepo } from './setup-repo.js';

const KEY = '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n';

describe('setup-repo', () => {
  let configDir: string;
  beforeEach(async () => {
    configDir = await mkdtemp(path.join(tmpdir(), 'etc-cvmfs-'));
  });
  afterEach(() => rm(configDir, { recursive: true, force: true }));

  it('writes the client configuration and fetches a missing key', async () => {
    const fetched: string[] = [];
    const plan = await planSetupRepo({
      repository: 'cernvm-devel.cern.ch',
      configDir,
      serverUrl: 'http://127.0.0.1:9/cvmfs/@fqrn@',
      keysUrl: 'http://127.0.0.1:9/keys/@fqrn@.pub',
      snapshot: 'cernvm-system-4.7.1.0',
    });
    await applySetupRepo(plan, async (url) => {
      fetched.push(url);
      return Buffer.from(KEY);
    });
    expect(fetched).toEqual(['http://127.0.0.1:9/keys/cernvm-devel.cern.ch.pub']);
    const config = await readFile(path.join(configDir, 'config.d', 'cernvm-devel.cern.ch.local'), 'utf8');
    expect(config).toContain('CVMFS_SERVER_URL="http://127.0.0.1:9/cvmfs/@fqrn@"');
    expect(config).toContain('CVMFS_CLAIM_OWNERSHIP=no');
    expect(config).toContain('CVMFS_REPOSITORY_TAG="cernvm-system-4.7.1.0"');
    expect(await readFile(path.join(configDir, 'keys', 'cern.ch', 'cernvm-devel.cern.ch.pub'), 'utf8')).toBe(KEY);
  });

  it('fetches the key over HTTP from a server on 127.0.0.1', async () => {
    const requested: string[] = [];
    const server = createServer((request, response) => {
      requested.push(request.url ?? '');
      if (request.url === '/keys/cernvm-prod.cern.ch.pub') response.end(KEY);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const keysUrl = `http://127.0.0.1:${port}/keys/@fqrn@.pub`;
      await applySetupRepo(await planSetupRepo({ repository: 'cernvm-prod.cern.ch', configDir, keysUrl }));
      expect(requested).toEqual(['/keys/cernvm-prod.cern.ch.pub']);
      expect(await readFile(path.join(configDir, 'keys', 'cern.ch', 'cernvm-prod.cern.ch.pub'), 'utf8')).toBe(KEY);
      const missing = await planSetupRepo({ repository: 'cernvm-devel.cern.ch', configDir, keysUrl });
      await expect(applySetupRepo(missing)).rejects.toMatchObject({
        code: 'E_FETCH_FAILED',
        message: expect.stringContaining('HTTP 404'),
      });
    } finally {
      server.close();
    }
  });

  it('keeps a key that is already there', async () => {
    await mkdir(path.join(configDir, 'keys', 'cern.ch'), { recursive: true });
    await writeFile(path.join(configDir, 'keys', 'cern.ch', 'cernvm-prod.cern.ch.pub'), KEY);
    const plan = await planSetupRepo({ repository: 'cernvm-prod.cern.ch', configDir });
    expect(plan.keyUrl).toBeUndefined();
    await applySetupRepo(plan, async () => {
      throw new Error('must not fetch');
    });
  });

  it('writes nothing when the key is not a PEM public key', async () => {
    const plan = await planSetupRepo({ repository: 'cernvm-prod.cern.ch', configDir });
    await expect(applySetupRepo(plan, async () => Buffer.from('<html>404</html>'))).rejects.toMatchObject({
      code: 'E_FETCH_FAILED',
    });
    expect(await readdir(configDir)).toEqual([]);
  });

  it.each(['ftp://x/@fqrn@', 'not a url', 'http://x/$(id)', 'http://x/"'])('refuses server URL %j', async (url) => {
    await expect(planSetupRepo({ repository: 'cernvm-prod.cern.ch', configDir, serverUrl: url })).rejects.toMatchObject(
      {
        code: 'E_BAD_OPTION',
      },
    );
  });

  // Found by cli/main.property.test.ts: the directory went unchecked into CVMFS_PUBLIC_KEY="…", in a file the
  // client sources as shell.
  it.each(['/etc/cvmfs"; reboot; "', '/tmp/$(id)', '/tmp/`id`', 'etc/cvmfs', '/tmp/a b', '/tmp/../etc'])(
    'refuses config directory %j before writing anything',
    async (dir) => {
      await expect(planSetupRepo({ repository: 'cernvm-prod.cern.ch', configDir: dir })).rejects.toMatchObject({
        code: 'E_BAD_OPTION',
        message: expect.stringMatching(/^invalid --cvmfs-config-dir /),
      });
    },
  );
});
