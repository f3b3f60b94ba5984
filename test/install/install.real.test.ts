import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { realEngineAvailable } from '../support/engine.js';
import { removeFactoryContainers, slotContainers, waitFor } from '../support/factory-process.js';
import { FreshRoot, debianNodeRoot, packagedArtifacts, rootAvailable } from '../support/fresh-root.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';

// Installs docker-cernvm as a site would, each time on a fresh copy of a Debian 13 root with Debian's own nodejs:
// from the .deb with apt-get, and from the npm tarballs with npm install -g.
const asRoot = rootAvailable('install tests');
const describeRoot = asRoot ? describe : describe.skip;
const COMMANDS = ['docker-cernvm', 'docker-cernvm-pilot', 'docker-cernvm-factory'];
const UNITS = ['docker-cernvm-factory.service', 'docker-cernvm-mount.service'];
// Test-only factory name: cleaning up never touches a site's own factory.
const NAME = 'dcvm-test-install';
const BUILD_MS = 600_000;

const VERSION = (
  JSON.parse(await readFile(new URL('../../packages/factory/package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const exists = (file: string) =>
  lstat(file).then(
    () => true,
    () => false,
  );

describeRoot('installing docker-cernvm on a fresh Debian 13', () => {
  let base: string;
  let artifacts: { deb: string; tarballs: string[] };
  let buildDir: string;
  let fresh: FreshRoot | undefined;

  beforeAll(async () => {
    await FreshRoot.removeLeftovers();
    buildDir = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    [base, artifacts] = await Promise.all([debianNodeRoot(), packagedArtifacts(buildDir)]);
  }, BUILD_MS);

  afterEach(async () => {
    await fresh?.close();
    fresh = undefined;
  });

  afterAll(async () => {
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  it("Debian's nodejs meets the packages' engines (>= 20.19)", async () => {
    fresh = await FreshRoot.create(base);
    const [major, minor] = (await fresh.check(['node', '--version'])).trim().slice(1).split('.').map(Number);
    expect(major! * 1000 + minor!).toBeGreaterThanOrEqual(20_019);
  });

  describe('the .deb, with apt-get', () => {
    it('installs, runs, passes systemd-analyze verify, and purges to nothing of ours', async () => {
      fresh = await FreshRoot.create(base);
      const root = fresh;
      // apt fetches what the root lacks of the Depends (procps, for the unit's /bin/kill) from the root's mirror.
      await copyFile('/etc/resolv.conf', root.path('/etc/resolv.conf'));
      await copyFile(artifacts.deb, root.path(`/tmp/${path.basename(artifacts.deb)}`));
      await root.check(
        ['apt-get', 'install', '-y', '--no-install-recommends', `/tmp/${path.basename(artifacts.deb)}`],
        {
          DEBIAN_FRONTEND: 'noninteractive',
        },
      );

      for (const command of COMMANDS) {
        const help = await root.exec([command, '--help']);
        expect([command, help.code, help.stdout]).toEqual([
          command,
          0,
          expect.stringContaining(`${command} <command>`),
        ]);
        expect(await root.check(['readlink', '-f', `/usr/bin/${command}`])).toMatch(/^\/usr\/lib\/docker-cernvm\//);
      }
      const listed = (await root.check(['dpkg', '-L', 'docker-cernvm'])).split('\n').filter((p) => p.startsWith('/'));
      for (const expected of [
        '/etc/docker-cernvm/factory.yaml',
        ...UNITS.map((unit) => `/usr/lib/systemd/system/${unit}`),
        ...COMMANDS.map((command) => `/usr/share/man/man1/${command}.1.gz`),
        '/usr/share/doc/docker-cernvm/changelog.gz',
        '/usr/share/doc/docker-cernvm/copyright',
        '/usr/share/doc/docker-cernvm/examples/fleet-roll.sh',
        '/usr/share/doc/docker-cernvm/examples/prometheus-fleet.yaml',
      ])
        expect(listed).toContain(expected);
      // The roll script runs from where it is installed: without arguments it prints its usage and exits 2.
      const roll = await root.exec(['bash', '/usr/share/doc/docker-cernvm/examples/fleet-roll.sh']);
      expect([roll.code, roll.stderr]).toEqual([2, expect.stringContaining('fleet-roll.sh --image TAG')]);
      expect(await root.check(['dpkg-query', '-W', '-f=${Conffiles}', 'docker-cernvm'])).toContain(
        '/etc/docker-cernvm/factory.yaml',
      );
      expect(await readFile(root.path('/etc/docker-cernvm/factory.yaml'), 'utf8')).toMatch(/^slots: 16$/m);

      // The units name the installed commands; the engine's docker.service is not installed here, only recommended.
      for (const unit of UNITS)
        expect(await readFile(root.path(`/usr/lib/systemd/system/${unit}`), 'utf8')).toMatch(
          /^ExecStart=\/usr\/bin\/docker-cernvm(-factory)? /m,
        );
      const verify = await root.exec([
        'systemd-analyze',
        'verify',
        '--man=no',
        ...UNITS.map((unit) => `/usr/lib/systemd/system/${unit}`),
      ]);
      expect([
        verify.code,
        verify.stderr
          .split('\n')
          .filter((line) => !/docker\.service/.test(line))
          .join('\n')
          .trim(),
      ]).toEqual([expect.any(Number), '']);

      // remove keeps the conffile (and only it); purge leaves nothing of ours.
      await root.check(['apt-get', 'remove', '-y', 'docker-cernvm'], { DEBIAN_FRONTEND: 'noninteractive' });
      expect(await root.check(['dpkg-query', '-W', '-f=${db:Status-Status}', 'docker-cernvm'])).toBe('config-files');
      expect(await exists(root.path('/etc/docker-cernvm/factory.yaml'))).toBe(true);
      for (const file of listed.filter((p) => !p.startsWith('/etc/docker-cernvm')))
        expect([file, await exists(root.path(file))]).toEqual([file, await exists(path.join(base, file))]);

      await root.check(['apt-get', 'purge', '-y', 'docker-cernvm'], { DEBIAN_FRONTEND: 'noninteractive' });
      expect((await root.exec(['dpkg-query', '-W', 'docker-cernvm'])).code).not.toBe(0);
      for (const file of listed)
        expect([file, await exists(root.path(file))]).toEqual([file, await exists(path.join(base, file))]);
      expect(await exists(root.path('/etc/docker-cernvm'))).toBe(false);
    }, 300_000);

    it('answers --version with the package version', async () => {
      fresh = await FreshRoot.create(base);
      await copyFile('/etc/resolv.conf', fresh.path('/etc/resolv.conf'));
      await copyFile(artifacts.deb, fresh.path(`/tmp/${path.basename(artifacts.deb)}`));
      await fresh.check(
        ['apt-get', 'install', '-y', '--no-install-recommends', `/tmp/${path.basename(artifacts.deb)}`],
        {
          DEBIAN_FRONTEND: 'noninteractive',
        },
      );
      for (const command of COMMANDS)
        expect([command, (await fresh.exec([command, '--version'])).stdout.trim()]).toEqual([command, VERSION]);
    }, 300_000);
  });

  describe('the npm tarballs, with npm install -g', () => {
    it('gives three commands on PATH, and a factory that makes a slot on the host engine', async () => {
      const engineUp = await realEngineAvailable('install tests: npm install -g');
      if (!engineUp) return;
      fresh = await FreshRoot.create(base);
      const root = fresh;
      // npm in the root reaches the registry with the host's name servers and CA bundle (a proxy's CA among them).
      await copyFile('/etc/resolv.conf', root.path('/etc/resolv.conf'));
      await copyFile('/etc/ssl/certs/ca-certificates.crt', root.path('/tmp/host-ca.crt'));
      const npmEnv = {
        NODE_EXTRA_CA_CERTS: '/tmp/host-ca.crt',
        npm_config_cafile: '/tmp/host-ca.crt',
        ...(process.env.npm_config_registry ? { npm_config_registry: process.env.npm_config_registry } : {}),
      };
      for (const tarball of artifacts.tarballs) await copyFile(tarball, root.path(`/tmp/${path.basename(tarball)}`));
      await root.check(
        [
          'npm',
          'install',
          '-g',
          '--no-audit',
          '--no-fund',
          ...artifacts.tarballs.map((t) => `/tmp/${path.basename(t)}`),
        ],
        npmEnv,
      );

      // Each tarball carries the licence text (scripts/pack.sh copies the root LICENSE in).
      for (const name of ['cli-kit', 'mounter', 'pilot', 'factory']) {
        const license = `/usr/local/lib/node_modules/@docker-cernvm/${name}/LICENSE`;
        expect([license, await exists(root.path(license))]).toEqual([license, true]);
      }
      for (const command of COMMANDS) {
        expect(await root.check(['sh', '-c', `command -v ${command}`])).toBe(`/usr/local/bin/${command}\n`);
        const help = await root.exec([command, '--help']);
        expect([command, help.code, help.stdout]).toEqual([
          command,
          0,
          expect.stringContaining(`${command} <command>`),
        ]);
      }

      // The factory in the root drives the host's engine through its socket. Its state, scratch and token live in
      // a directory bound at the same path inside and out: the engine binds those paths into the slot.
      await buildSlotImage();
      await removeFactoryContainers(NAME);
      const work = path.join(fresh.dir, 'shared');
      await mkdir(work);
      await root.bind(work, work);
      await writeFile(path.join(work, 'pool.token'), 'a stand-in token; the slot image never reads it\n', {
        mode: 0o600,
      });
      const socket = engineSocket();
      await root.bind(socket, '/run/docker.sock');
      const factory = spawn(
        'chroot',
        [
          root.root,
          '/usr/bin/env',
          '-i',
          'PATH=/usr/local/bin:/usr/bin:/bin',
          'DOCKER_HOST=unix:///run/docker.sock',
          'docker-cernvm-factory',
          'start',
          ...['--name', NAME, '--slots', '1', '--image', SLOT_IMAGE, '--slot-command', 'image'],
          ...['--token-file', path.join(work, 'pool.token'), '--state-dir', path.join(work, 'state')],
          ...['--scratch-dir', path.join(work, 'scratch'), '--socket', path.join(work, `${NAME}.sock`)],
          ...['--listen', '127.0.0.1:0', '--no-pin', '--memory-mb', '64', '--log-format', 'json', '--on-exit', 'stop'],
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let log = '';
      factory.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
      const exit = new Promise<number | null>((resolve) => factory.on('exit', (code) => resolve(code)));
      try {
        const slots = await waitFor(
          async () =>
            (await slotContainers(NAME)).filter((c) => c.state === 'running').length > 0 && slotContainers(NAME),
          60_000,
          `a running slot of the factory installed with npm (its log:\n${log})`,
        );
        expect(slots.map((s) => s.slot)).toEqual([0]);
      } finally {
        factory.kill('SIGTERM');
        const code = await exit;
        await removeFactoryContainers(NAME);
        expect([code, log.includes('"level":"error"') ? log : '']).toEqual([0, '']);
      }
      for (const command of COMMANDS)
        expect([command, (await root.exec([command, '--version'])).stdout.trim()]).toEqual([command, VERSION]);
    }, 300_000);
  });
});

/** The host engine's socket, from DOCKER_HOST as the tests' dockerode reads it. */
function engineSocket(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  if (!host.startsWith('unix://')) throw new Error(`the install test binds the engine's socket; DOCKER_HOST=${host}`);
  return host.slice('unix://'.length);
}
