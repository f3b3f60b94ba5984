import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { chrootedEngineRoot, docker, execIn, realEngineAvailable } from '../support/engine.js';
import {
  type FactoryProcess,
  type SlotContainer,
  type TestFactorySetup,
  removeFactoryContainers,
  slotContainers,
  startTestFactory,
  waitFor,
} from '../support/factory-process.js';
import { type SharedDir, sharedTempDir } from '../support/shared-dir.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';

const engineUp = await realEngineAvailable('slot mounts and scratch on the real engine');
const describeEngine = engineUp ? describe : describe.skip;

const NAME = 'dcvm-test-mounts';
const REPO = 'repo.test.invalid';
const TARGET = `/cvmfs/${REPO}`;

const running = async () => (await slotContainers(NAME)).filter((c) => c.state === 'running');
const runningSlots = (n: number, ok: (c: SlotContainer[]) => boolean = () => true) =>
  waitFor(
    async () => {
      const now = await running();
      return now.length === n && ok(now) ? now : undefined;
    },
    60_000,
    `${n} running slots`,
  );
// As uid 0: the slot image has no passwd file to look root up in.
const exec = (c: SlotContainer, command: string) => execIn(docker.getContainer(c.id), ['sh', '-c', command], '0');

describeEngine('slot mounts and scratch on a real Docker engine', () => {
  let shared: SharedDir;
  let setup: TestFactorySetup;
  let repo: string;
  let factory: FactoryProcess | undefined;

  beforeAll(async () => {
    await buildSlotImage();
    shared = await sharedTempDir();
    // The stand-in repository is on the shared mount; the factory's own files (token, state, scratch) are not in it.
    repo = path.join(shared.dir, 'cvmfs', REPO);
    await mkdir(path.join(repo, 'later'), { recursive: true });
    await writeFile(path.join(repo, 'setup.sh'), 'export SOFTWARE=from-the-host\n');
    const dir = path.join(shared.dir, 'factory');
    await mkdir(dir);
    setup = { name: NAME, dir, tokenFile: path.join(dir, 'pool.token'), image: SLOT_IMAGE };
    await writeFile(setup.tokenFile, 'stand-in\n', { mode: 0o600 });
    await removeFactoryContainers(NAME);
  });

  afterEach(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    factory = undefined;
    await removeFactoryContainers(NAME);
  });

  afterAll(async () => {
    await shared?.release();
  });

  it('shows a file system the host mounts under the bound tree after the slot started, and the slot cannot write to the read-only mount', async () => {
    factory = startTestFactory(setup, 1, ['--mount', `${repo}:${TARGET}`]);
    const [slot] = await runningSlots(1);
    expect(await exec(slot!, `cat ${TARGET}/setup.sh`)).toEqual({
      exitCode: 0,
      output: 'export SOFTWARE=from-the-host\n',
    });

    // As autofs mounts a repository on first access, after the slot started.
    await shared.mountTmpfs(path.join(repo, 'later'));
    await writeFile(path.join(repo, 'later', 'file'), 'mounted later\n');
    expect(await exec(slot!, `cat ${TARGET}/later/file`)).toEqual({ exitCode: 0, output: 'mounted later\n' });

    const write = await exec(slot!, `echo x > ${TARGET}/new`);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toMatch(/Read-only file system/);
    const inspected = await docker.getContainer(slot!.id).inspect();
    expect(inspected.Mounts.find((m) => m.Destination === TARGET)).toMatchObject({
      Source: repo,
      RW: false,
      Propagation: 'rslave',
    });
  }, 90_000);

  it('starts slots whose scratch is under /var/lib/docker-cernvm, a path that merely starts like the engine root', async () => {
    // Docker refuses a Mount with private propagation whose path starts with its root's; the default scratch is there.
    const scratch = `/var/lib/docker-cernvm-it-scratch-${process.pid}`;
    try {
      factory = startTestFactory(setup, 2, ['--scratch-dir', scratch]);
      const slots = await runningSlots(2);
      expect(await exec(slots[0]!, 'echo ok > /scratch/probe && cat /scratch/probe')).toEqual({
        exitCode: 0,
        output: 'ok\n',
      });
      expect(factory.logs().filter((l) => l.event === 'action-failed')).toEqual([]);
    } finally {
      factory?.signal('SIGKILL');
      await factory?.exit;
      factory = undefined;
      await removeFactoryContainers(NAME);
      await rm(scratch, { recursive: true, force: true });
      // A chrooted engine (scripts/docker26.sh) made its own copy in its root, which shares only /tmp with the host.
      const engineRoot = chrootedEngineRoot();
      if (engineRoot) await rm(path.join(engineRoot, scratch), { recursive: true, force: true });
    }
  });

  it('empties a slot’s scratch when it is replaced, and leaves the other slots’ scratch alone', async () => {
    factory = startTestFactory(setup, 2);
    const before = await runningSlots(2);
    for (const c of before)
      expect(await exec(c, `echo job-of-slot-${c.slot} > /scratch/output`)).toMatchObject({ exitCode: 0 });
    const scratchOf = (slot: number) => path.join(setup.dir, 'scratch', NAME, `slot-${slot}`);
    expect(await readFile(path.join(scratchOf(0), 'output'), 'utf8')).toBe('job-of-slot-0\n');

    const victim = before.find((c) => c.slot === 0)!;
    await docker.getContainer(victim.id).kill();
    const after = await runningSlots(2, (now) => !now.some((c) => c.id === victim.id));
    expect(await readdir(scratchOf(0))).toEqual([]);
    expect(await readFile(path.join(scratchOf(1), 'output'), 'utf8')).toBe('job-of-slot-1\n');
    const replacement = after.find((c) => c.slot === 0)!;
    expect((await exec(replacement, 'cat /scratch/output')).exitCode).not.toBe(0);
    expect(after.find((c) => c.slot === 1)!.id).toBe(before.find((c) => c.slot === 1)!.id);
  }, 90_000);

  it('rolls the slots over by draining them when a reload adds a mount: none is killed', async () => {
    const config = path.join(setup.dir, 'factory.yaml');
    await writeFile(config, 'slots: 1\n');
    factory = startTestFactory(setup, undefined, ['--config', config]);
    const [first] = await runningSlots(1);
    expect(await exec(first!, 'echo job-of-the-old-pilot > /scratch/output')).toMatchObject({ exitCode: 0 });
    await writeFile(config, `slots: 1\nmounts:\n  - source: ${repo}\n    target: ${TARGET}\n`);
    factory.signal('SIGHUP');
    const [second] = await runningSlots(1, (now) => now[0]!.id !== first!.id);
    expect(second!.templateHash).not.toBe(first!.templateHash);
    expect(factory.logs().filter((l) => l.event === 'slot-draining')).toEqual([
      expect.objectContaining({ reason: 'template' }),
    ]);
    // Podman's list can show the old slot gone before its events stream delivers the exit the line is logged from.
    const exited = await waitFor(
      async () => factory?.logs().find((l) => l.event === 'slot-exited'),
      10_000,
      'the drained slot’s slot-exited line',
    );
    expect(exited).toMatchObject({ reason: 'drained', code: 0 });
    expect(await exec(second!, `cat ${TARGET}/setup.sh`)).toMatchObject({ exitCode: 0 });
    // The drained pilot's scratch went with it: the new one starts on an empty directory.
    expect(await readdir(path.join(setup.dir, 'scratch', NAME, 'slot-0'))).toEqual([]);
  }, 90_000);

  describe('refuses a mount it cannot make: one line naming it, exit 2, nothing started', () => {
    it('a source that does not exist', async () => {
      const missing = path.join(shared.dir, 'cvmfs', 'missing.test.invalid');
      const refused = startTestFactory(setup, 1, ['--mount', missing]);
      expect((await refused.exit).code).toBe(2);
      expect(refused.output).toBe(
        `error: mounts.0.source ${missing}: does not exist on this host (create it or mount it first)\n`,
      );
      expect(await slotContainers(NAME)).toEqual([]);
    }, 30_000);

    it('an rslave source on a private mount, saying to make it shared', async () => {
      const privateDir = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
      try {
        const refused = startTestFactory(setup, 1, ['--mount', `${privateDir}:/data`]);
        expect((await refused.exit).code).toBe(2);
        expect(refused.output).toMatch(
          new RegExp(
            `^error: mounts\\.0\\.source ${privateDir}: is on the private mount /, .*run mount --make-rshared / .*propagation: rprivate.*\\n$`,
          ),
        );
        expect(await slotContainers(NAME)).toEqual([]);
      } finally {
        await rm(privateDir, { recursive: true, force: true });
      }
    }, 30_000);
  });
});
