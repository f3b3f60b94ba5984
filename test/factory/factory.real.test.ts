import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMounter } from '@docker-cernvm/mounter';
import { SLOT_CAPABILITIES } from '@docker-cernvm/pilot';
import { TMP_PREFIX, cleanUpTestMounts } from '../support/cleanup.js';
import { chrootedEngineRoot, docker, engineIsPodman, execIn, realEngineAvailable } from '../support/engine.js';
import {
  FactoryProcess,
  type SlotContainer,
  removeFactoryContainers,
  slotContainers,
  startTestFactory,
  waitFor,
} from '../support/factory-process.js';
import { keptCapabilities, processPrivileges, tryWrite } from '../support/slot-hardening.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';

const engineUp = await realEngineAvailable('factory on the real engine');
const describeEngine = engineUp ? describe : describe.skip;
// Placeholder images are Docker's: podman's storage hides a bind over a layer (issue 23 gives podman slots their
// CernVM root as a rootfs instead), so the placeholder test runs on Docker engines only.
const onDocker = engineUp && !(await engineIsPodman()) ? it : it.skip;

// Test-only factory names: cleaning up never touches a site's own factory.
const NAME = 'dcvm-test-factory';
const CRASH_NAME = 'dcvm-test-crashing';
const PLACEHOLDER_REPOSITORY = 'cernvm-prod.test.invalid';
/** Not the default (4096), so the slot's limit is seen to come from the factory's flag. */
const PIDS_LIMIT = 321;

const running = (containers: SlotContainer[]) => containers.filter((c) => c.state === 'running');
const slotsOf = (containers: SlotContainer[]) => containers.map((c) => c.slot).sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describeEngine('docker-cernvm-factory on a real Docker engine', () => {
  let tmp: string;
  let tokenFile: string;
  const factories: FactoryProcess[] = [];

  beforeAll(async () => {
    await buildSlotImage();
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    tokenFile = path.join(tmp, 'pool.token');
    await writeFile(tokenFile, 'a stand-in token; the slot image never reads it\n', { mode: 0o600 });
    await removeFactoryContainers(NAME);
    await removeFactoryContainers(CRASH_NAME);
  });

  afterEach(async () => {
    for (const factory of factories.splice(0)) factory.signal('SIGKILL');
    await removeFactoryContainers(NAME);
    await removeFactoryContainers(CRASH_NAME);
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  function startFactory(slots: number, extra: string[] = [], name = NAME): FactoryProcess {
    const factory = startTestFactory({ name, dir: tmp, tokenFile, image: SLOT_IMAGE }, slots, extra);
    factories.push(factory);
    return factory;
  }

  const runningSlots = (n: number, name = NAME) =>
    waitFor(
      async () => {
        const containers = await slotContainers(name);
        return running(containers).length === n && containers.length === n ? containers : undefined;
      },
      60_000,
      `${n} running slots`,
    );

  it('fills 8 slots with indices 0..7, and brings 3 killed ones back on the same indices', async () => {
    const factory = startFactory(8);
    const filled = await runningSlots(8);
    expect(slotsOf(filled)).toEqual(range(8));
    // Filling takes nothing away: no drain, no removal, no failed create.
    expect(factory.logs().filter((l) => ['slot-draining', 'slot-removed', 'action-failed'].includes(l.event))).toEqual(
      [],
    );

    const victims = filled.filter((c) => [1, 4, 6].includes(c.slot));
    await Promise.all(victims.map((c) => docker.getContainer(c.id).kill()));
    const refilled = await waitFor(
      async () => {
        const now = await runningSlots(8);
        return victims.every((v) => !now.some((c) => c.id === v.id)) ? now : undefined;
      },
      60_000,
      'the killed slots to be replaced',
    );
    expect(slotsOf(refilled)).toEqual(range(8));
    for (const victim of victims) {
      expect(refilled.find((c) => c.slot === victim.slot)!.id).not.toBe(victim.id);
    }
    const untouched = filled.filter((c) => !victims.includes(c));
    expect(untouched.every((c) => refilled.some((r) => r.id === c.id))).toBe(true);
  }, 120_000);

  it('takes what a slot left in /pilot for what it is: the slot writes only status/, and nothing there is followed', async () => {
    // A link a slot once left from config.d to a host directory had the next render of that index write its snippets
    // there and remove everything else. /pilot is read-only now; status/ is the one place a slot still writes.
    const elsewhere = path.join(tmp, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o755 });
    await writeFile(path.join(elsewhere, 'keep.conf'), 'KEEP = 1\n');
    startFactory(1);
    const [slot] = await runningSlots(1);
    const planted = await execIn(
      docker.getContainer(slot!.id),
      [
        '/bin/busybox',
        'sh',
        '-c',
        [
          `/bin/busybox rm -rf /pilot/config.d 2>&1; /bin/busybox ln -s ${elsewhere} /pilot/config.d 2>&1`,
          `/bin/busybox mv /pilot/status /pilot/moved 2>&1`,
          `/bin/busybox ln -sf ${elsewhere}/keep.conf /pilot/status/heartbeat.json && echo status-link`,
        ].join('; '),
      ],
      '0',
    );
    expect(planted.output).toMatch(/config\.d.*Read-only file system/);
    expect(planted.output).toMatch(/status.*(Read-only file system|busy)/);
    expect(planted.output).toContain('status-link');
    await docker.getContainer(slot!.id).kill();
    const [replacement] = await waitFor(
      async () => {
        const now = await runningSlots(1);
        return now[0]?.id !== slot!.id ? now : undefined;
      },
      60_000,
      'the slot to be replaced',
    );
    expect(replacement!.slot).toBe(0);
    expect(await readdir(elsewhere)).toEqual(['keep.conf']);
    await expect(readFile(path.join(elsewhere, 'keep.conf'), 'utf8')).resolves.toBe('KEEP = 1\n');
    const slotDir = path.join(tmp, 'state', NAME, 'slot-0');
    expect((await lstat(path.join(slotDir, 'config.d'))).isDirectory()).toBe(true);
    expect((await readdir(path.join(slotDir, 'config.d'))).length).toBeGreaterThan(0);
    // The replacement's entrypoint writes its heartbeat anew, in place of the link.
    expect((await lstat(path.join(slotDir, 'status'))).isDirectory()).toBe(true);
    await waitFor(
      async () => (await lstat(path.join(slotDir, 'status', 'heartbeat.json')).catch(() => undefined))?.isFile(),
      30_000,
      'a heartbeat file from the replacement',
    );
  }, 120_000);

  it('is SIGKILLed mid-fill, then started again: it adopts what is there, with no duplicate and nothing orphaned', async () => {
    const first = startFactory(8);
    await waitFor(async () => running(await slotContainers(NAME)).length >= 2, 60_000, 'the fill to begin');
    first.signal('SIGKILL');
    await first.exit;
    const leftBehind = await slotContainers(NAME);
    expect(leftBehind.length).toBeLessThanOrEqual(8);

    const second = startFactory(8);
    const filled = await runningSlots(8);
    expect(slotsOf(filled)).toEqual(range(8));
    // Every container the first one made and started is adopted, not replaced.
    for (const c of running(leftBehind)) expect(filled.some((f) => f.id === c.id)).toBe(true);
    // Still exactly 8 a few resyncs later.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(slotsOf(await slotContainers(NAME))).toEqual(range(8));
    second.signal('SIGTERM');
    expect((await second.exit).code).toBe(0);
  }, 120_000);

  it('leaves its pilots running on SIGTERM, and the next start adopts them without making new ones', async () => {
    const first = startFactory(3);
    const filled = await runningSlots(3);
    first.signal('SIGTERM');
    expect((await first.exit).code).toBe(0);
    expect(
      running(await slotContainers(NAME))
        .map((c) => c.id)
        .sort(),
    ).toEqual(filled.map((c) => c.id).sort());

    const second = startFactory(3);
    await waitFor(
      async () => second.logs().some((l) => l.event === 'progress' || l.event === 'factory-starting'),
      30_000,
      'start',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(second.logs().filter((l) => l.event === 'slot-started')).toEqual([]);
    expect((await slotContainers(NAME)).map((c) => c.id).sort()).toEqual(filled.map((c) => c.id).sort());
  }, 120_000);

  it('stops its pilots gracefully with --on-exit stop', async () => {
    const factory = startFactory(2, ['--on-exit', 'stop', '--stop-timeout-seconds', '5']);
    await runningSlots(2);
    factory.signal('SIGTERM');
    expect((await factory.exit).code).toBe(0);
    expect(await slotContainers(NAME)).toEqual([]);
  }, 60_000);

  it('backs off a crashing slot: 1 s doubling, while its other slots are unaffected', async () => {
    const crashFlag = path.join(tmp, 'state', CRASH_NAME, 'slot-0', 'crash');
    await mkdir(path.dirname(crashFlag), { recursive: true });
    await writeFile(crashFlag, '');
    const factory = startFactory(3, [], CRASH_NAME);
    const healthy = await waitFor(
      async () => {
        const others = running(await slotContainers(CRASH_NAME)).filter((c) => c.slot !== 0);
        return others.length === 2 ? others : undefined;
      },
      30_000,
      'slots 1 and 2',
    );
    const exits = await waitFor(
      async () => {
        const lines = factory.logs().filter((l) => l.event === 'slot-exited');
        return lines.length >= 5 ? lines : undefined;
      },
      60_000,
      'five crashes',
    );
    expect(exits.every((l) => l.reason === 'failed' && l.code === 1 && l.slot === 0)).toBe(true);
    // One crash is replaced at once; then 1 s, 2 s, 4 s … between starts.
    expect(exits.slice(0, 5).map((l) => l.retry_in_s ?? 0)).toEqual([0, 1, 2, 4, 8].map((s) => expect.closeTo(s, 0)));
    expect(factory.logs().filter((l) => l.event === 'slot-started' && l.slot === 0).length).toBeLessThanOrEqual(6);
    // Visible in metrics: the slot waiting out its backoff, and the failed exits counted.
    const http = String(factory.logs().find((l) => l.event === 'factory-starting')?.http);
    const metrics = await (await fetch(`http://${http}/metrics`)).text();
    expect(metrics).toMatch(/^cernvm_factory_slots\{state="backoff"\} 1$/m);
    expect(
      Number(/^cernvm_factory_container_exits_total\{reason="failed"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(5);
    // Slots 1 and 2 kept their first containers all along.
    const now = running(await slotContainers(CRASH_NAME)).filter((c) => c.slot !== 0);
    expect(now.map((c) => c.id).sort()).toEqual(healthy.map((c) => c.id).sort());
    await rm(crashFlag);
  }, 90_000);

  it('pins slot i to core i, limits its memory, runs it under an init on the host network, with /pilot and the token mounted', async () => {
    startFactory(2, ['--pin', '--memory-mb', '96']);
    const containers = await runningSlots(2);
    const dir = path.join(tmp, 'state', NAME, 'slot-1');
    await expect(readFile(path.join(dir, 'config.d', '30-slot.conf'), 'utf8')).resolves.toContain(
      `STARTD_NAME = ${NAME}-slot-1`,
    );
    const inspected = await Promise.all(containers.map((c) => docker.getContainer(c.id).inspect()));
    expect(inspected).toHaveLength(2);
    for (const info of inspected) {
      const slot = Number(info.Config.Labels['org.docker-cernvm.slot']);
      expect(info.HostConfig.CpusetCpus).toBe(String(slot));
      expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
      expect(info.HostConfig.Init).toBe(true);
      expect(info.HostConfig.NetworkMode).toBe('host');
      expect(info.HostConfig.Privileged).toBe(false);
      expect(info.Mounts.find((m) => m.Destination === '/pilot')).toMatchObject({
        Source: path.join(tmp, 'state', NAME, `slot-${slot}`),
      });
      // The factory's copy of the token, in a directory a rotated token replaces it in.
      expect(info.Mounts.find((m) => m.Destination === '/pilot/tokens.d')).toMatchObject({
        Source: path.join(tmp, 'state', NAME, 'tokens.d'),
        RW: false,
      });
      await expect(readFile(path.join(tmp, 'state', NAME, 'tokens.d', 'pool.token'), 'utf8')).resolves.toBe(
        await readFile(tokenFile, 'utf8'),
      );
      expect(info.Mounts.find((m) => m.Destination === '/etc/jobfeatures')).toMatchObject({
        Source: path.join(tmp, 'state', NAME, 'features', `slot-${slot}`, 'job'),
        RW: false,
      });
      expect(info.Config.Labels).toMatchObject({
        'org.docker-cernvm.factory': NAME,
        'org.docker-cernvm.version': expect.any(String),
      });
      expect(info.Config.Labels['org.docker-cernvm.template-hash']).toMatch(/^[0-9a-f]{12}$/);
    }
  }, 60_000);

  it('hardens each slot: its six capabilities only, no new privileges, its pids limit, /pilot and the token read-only', async () => {
    startFactory(1, ['--pids-limit', String(PIDS_LIMIT)]);
    const [slot] = await runningSlots(1);
    const container = docker.getContainer(slot!.id);
    const granted = [...SLOT_CAPABILITIES].sort();
    expect(await keptCapabilities(container)).toEqual(granted);
    const { HostConfig, Mounts } = await container.inspect();
    expect(HostConfig.Privileged).toBe(false);
    expect(HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(HostConfig.SecurityOpt ?? []).not.toContain('seccomp=unconfined');
    expect(HostConfig.PidsLimit).toBe(PIDS_LIMIT);
    const byTarget = new Map(Mounts.map((m) => [m.Destination, m]));
    expect(byTarget.get('/pilot')?.RW).toBe(false);
    expect(byTarget.get('/pilot/status')?.RW).toBe(true);
    expect(byTarget.get('/pilot/tokens.d')?.RW).toBe(false);

    // Inside: the slot's first process, which every process of the slot descends from, has only the granted
    // capabilities, cannot gain more by exec, and is under the engine's default seccomp filter (mode 2).
    const first = await processPrivileges(container, 1);
    expect(first).toEqual({ capEff: granted, capBnd: granted, noNewPrivs: 1, seccomp: 2 });
    // An exec is a process of the slot too, but not on the chrooted engine (nsenter there, see support/engine.ts).
    if (!chrootedEngineRoot()) expect(await processPrivileges(container, 'self')).toEqual(first);
    const pids = await execIn(container, ['cat', '/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max'], '0');
    expect(/^\d+$/m.exec(pids.output)?.[0]).toBe(String(PIDS_LIMIT));
    expect(await tryWrite(container, '/pilot/x')).toMatch(/Read-only file system/);
    expect(await tryWrite(container, '/pilot/tokens.d/pool.token')).toMatch(/Read-only file system/);
    expect(await tryWrite(container, '/pilot/status/x')).toBe('written');
  }, 60_000);

  onDocker(
    'refuses an empty docker-cernvm placeholder, naming the mount command, and starts nothing',
    async () => {
      const mounter = createMounter({
        paths: { cvmfsDir: path.join(tmp, 'cvmfs'), stateDir: path.join(tmp, 'mounter-state') },
      });
      const tag = 'docker-cernvm-test/empty-placeholder:1';
      await mounter.register({ tag, repository: PLACEHOLDER_REPOSITORY });
      try {
        const factory = new FactoryProcess([
          'start',
          '--name',
          NAME,
          '--slots',
          '1',
          '--image',
          tag,
          '--token-file',
          tokenFile,
          '--state-dir',
          path.join(tmp, 'state'),
          '--scratch-dir',
          path.join(tmp, 'scratch'),
          '--no-pin',
        ]);
        expect((await factory.exit).code).toBe(1);
        expect(factory.output).toMatch(
          new RegExp(
            `^error: ${tag} is a docker-cernvm placeholder with no CernVM root mounted over it: run docker-cernvm mount --tag ${tag} first\n$`,
          ),
        );
        expect(await slotContainers(NAME)).toEqual([]);
      } finally {
        await cleanUpTestMounts(mounter, PLACEHOLDER_REPOSITORY);
      }
    },
    60_000,
  );

  it('refuses an image the engine does not have, naming the mount command, and starts nothing', async () => {
    const tag = 'docker-cernvm-test/never-built:1';
    const factory = new FactoryProcess([
      'start',
      '--name',
      NAME,
      '--slots',
      '1',
      '--image',
      tag,
      '--token-file',
      tokenFile,
      '--state-dir',
      path.join(tmp, 'state'),
      '--scratch-dir',
      path.join(tmp, 'scratch'),
      '--no-pin',
    ]);
    expect((await factory.exit).code).toBe(1);
    expect(factory.output).toBe(
      `error: no image ${tag}: mount a CernVM root as it first (docker-cernvm mount --tag ${tag}) or name another with --image\n`,
    );
    expect(await slotContainers(NAME)).toEqual([]);
  }, 60_000);

  describe('bad input: one line, exit 2, nothing started', () => {
    it.each([
      [['--slots', 'abc'], /--slots: expected a whole number of slots/],
      [['--slots', '-1'], /slots/],
      [['--slots', '1.5'], /--slots: expected a whole number of slots/],
      [['--slots', '99999'], /--slots: expected a whole number of slots ≤ 4096/],
      [['--slots', '64', '--pin'], /need 64 pinned cores, but this host has \d+: run fewer slots or pass --no-pin/],
      [['--slots', '1', '--bogus'], /Unknown argument: bogus/],
      [['--slots'], /slots/],
    ])(
      '%j',
      async (args, message) => {
        const factory = new FactoryProcess([
          'start',
          '--name',
          NAME,
          '--image',
          SLOT_IMAGE,
          '--token-file',
          tokenFile,
          '--state-dir',
          path.join(tmp, 'state'),
          '--scratch-dir',
          path.join(tmp, 'scratch'),
          ...args,
        ]);
        const { code } = await factory.exit;
        expect(code).toBe(2);
        const lines = factory.output.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^error: /);
        expect(lines[0]).toMatch(message);
        expect(await slotContainers(NAME)).toEqual([]);
      },
      30_000,
    );
  });
});
