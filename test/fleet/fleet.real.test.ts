import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TMP_PREFIX } from '../support/cleanup.js';
import { CentralManager, TRUST_DOMAIN } from '../support/central-manager.js';
import { type MountedSnapshots, mountCondorSnapshots, removeUnmounted } from '../support/condor-image.js';
import { docker, realEngineAvailable } from '../support/engine.js';
import {
  FACTORY_BIN,
  FactoryProcess,
  controlRequest,
  removeFactoryContainers,
  slotContainers,
  waitFor,
} from '../support/factory-process.js';
import { PrivateEngine } from '../support/private-engine.js';

const engineUp = await realEngineAvailable('the fleet test');
const describeFleet = engineUp ? describe : describe.skip;

const ROLL_SCRIPT = fileURLToPath(new URL('../../scripts/fleet-roll.sh', import.meta.url));
const VERSION_A = '4.7.1.0';
const VERSION_B = '4.7.2.0';
/** The central manager runs from a snapshot of its own, on the host's engine. */
const VERSION_CM = '4.7.0.0';
const SLOTS = 2;
/** Each job names the factory of the slot it ran in, from the machine ad HTCondor hands it. */
const NAME_THE_HOST = `sed -n 's/^DockerCernvmFactory = "\\(.*\\)"$/\\1/p' "$_CONDOR_MACHINE_AD"`;

interface Host {
  name: string;
  engine: PrivateEngine;
  dir: string;
  config: string;
  socket: string;
  factory?: FactoryProcess;
}

interface Summary {
  desired: number;
  running: number;
  starting: number;
  draining: number;
  stopping: number;
}

// Three private engines, each with the HTCondor root mounted by docker-cernvm and a factory of 2 real pilots, all in
// one pool: what a site's fleet is, on one machine.
describeFleet('a fleet: three engines, three factories, one pool', () => {
  const hosts: Host[] = [1, 2, 3].map((i) => ({
    name: `dcvm-fleet-${i}`,
    engine: new PrivateEngine(`fleet-${i}`, `10.213.1${i}.1/24`),
    dir: '',
    config: '',
    socket: '',
  }));
  let tmp: string;
  let condor: MountedSnapshots | undefined;
  let pool: CentralManager;
  let imageA: string;
  let imageB: string;
  let killed: Host | undefined;
  const started = Date.now();

  beforeAll(async () => {
    await Promise.all(hosts.map((h) => h.engine.start()));
    for (const h of hosts) await removeFactoryContainers(h.name, h.engine.docker);
    condor = await mountCondorSnapshots(
      [VERSION_A, VERSION_B, VERSION_CM],
      [docker, ...hosts.map((h) => h.engine.docker)],
    );
    imageA = condor.images.get(VERSION_A)!;
    imageB = condor.images.get(VERSION_B)!;
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    pool = await CentralManager.start(condor.images.get(VERSION_CM)!, path.join(tmp, 'cm'));
    for (const h of hosts) {
      h.dir = path.join(tmp, h.name);
      await mkdir(h.dir);
      h.config = path.join(h.dir, 'factory.yaml');
      h.socket = path.join(h.dir, 'factory.sock');
      await writeFile(h.config, `slots: ${SLOTS}\nimage: ${imageA}\n`);
      // How the roll script reaches this host's factory: what `ssh <host> docker-cernvm-factory` is on a site.
      await writeFile(
        path.join(h.dir, 'factory-command'),
        `#!/bin/sh\nexec ${process.execPath} ${FACTORY_BIN} "$@" --name ${h.name} --socket ${h.socket}\n`,
        { mode: 0o755 },
      );
      h.factory = startFactory(h);
      await writeFile(path.join(h.dir, 'pid'), String(h.factory.pid));
    }
  }, 600_000);

  afterAll(async () => {
    for (const h of hosts) {
      h.factory?.signal('SIGKILL');
      await h.factory?.exit;
    }
    if (killed) await killed.engine.startAfterKill().catch(() => undefined);
    for (const h of hosts) await removeFactoryContainers(h.name, h.engine.docker).catch(() => undefined);
    await pool?.stop();
    await condor?.release();
    for (const h of hosts) await h.engine.stop();
    if (tmp) await removeUnmounted(tmp);
    console.log(`the fleet test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 300_000);

  function startFactory(h: Host): FactoryProcess {
    return new FactoryProcess(
      [
        'start',
        '--name',
        h.name,
        '--config',
        h.config,
        '--collector',
        pool.collector,
        '--trust-domain',
        TRUST_DOMAIN,
        '--token-file',
        pool.tokenFile,
        '--state-dir',
        path.join(h.dir, 'state'),
        '--scratch-dir',
        path.join(h.dir, 'scratch'),
        '--socket',
        h.socket,
        '--listen',
        '127.0.0.1:0',
        '--no-pin',
        '--memory-mb',
        '512',
        '--resync-seconds',
        '5',
        '--log-format',
        'json',
      ],
      { DOCKER_HOST: h.engine.host },
    );
  }

  const summaryOf = async (h: Host) =>
    ((await controlRequest(h.socket, { command: 'status' })).result as { summary?: Summary }).summary;

  const adsOf = async (h: Host) =>
    (await pool.slots(['State', 'DockerCernvmFactory', 'CernVMVersion', 'DaemonStartTime'])).filter(
      (ad) => ad.DockerCernvmFactory === h.name,
    );

  /** The factory of the slot each running job is in, from condor_q's RemoteHost and the slot ads. */
  async function runningOn(): Promise<string[]> {
    const q = await pool.exec(['condor_q', '-allusers', '-constraint', 'JobStatus == 2', '-af', 'RemoteHost']);
    const ads = await pool.slots(['DockerCernvmFactory']);
    return q.output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((remote) => String(ads.find((ad) => ad.Name === remote)?.DockerCernvmFactory ?? `unknown ${remote}`));
  }

  const codes = async (job: string) => (await pool.events(job)).map((e) => e.code);
  const count = (list: string[], code: string) => list.filter((c) => c === code).length;

  /** The factory each finished job of this cluster names in its output (one file per proc). */
  const outputs = (job: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        readFile(path.join(pool.dir, 'jobs', job, `out.${i}`), 'utf8').then((t) => t.trim()),
      ),
    );

  async function waitTerminated(job: string, n: number, ms: number): Promise<void> {
    await waitFor(async () => (count(await codes(job), '005') === n ? true : undefined), ms, `${n} ${job} jobs to end`);
  }

  it('spreads jobs over all three hosts; a drained host finishes its jobs and empties while the others match; resume refills it', async () => {
    await waitFor(
      async () => {
        const all = await Promise.all(hosts.map(adsOf));
        return all.every((ads) => ads.length === SLOTS && ads.every((a) => a.CernVMVersion === VERSION_A))
          ? true
          : undefined;
      },
      180_000,
      'two A slots of each host in the collector',
    );
    await pool.submit({ name: 'spread', command: `${NAME_THE_HOST}; sleep 20`, count: 6 });
    const spread = await waitFor(
      async () => {
        const on = await runningOn();
        return on.length === 6 ? on : undefined;
      },
      120_000,
      'six jobs running',
    );
    expect(spread.sort()).toEqual(hosts.flatMap((h) => [h.name, h.name]));

    const [drained, ...others] = hosts as [Host, Host, Host];
    expect((await controlRequest(drained.socket, { command: 'drain' })).ok).toBe(true);
    await pool.submit({ name: 'during-drain', command: `${NAME_THE_HOST}; sleep 1`, count: 4 });
    await waitTerminated('spread', 6, 120_000);
    await waitTerminated('during-drain', 4, 120_000);
    const spreadCodes = await codes('spread');
    expect(count(spreadCodes, '001')).toBe(6);
    expect(spreadCodes).not.toContain('004');
    expect(new Set(await outputs('spread', 6))).toEqual(new Set(hosts.map((h) => h.name)));
    // While it drained, the other two kept matching, and nothing new went to it.
    for (const host of await outputs('during-drain', 4)) expect(others.map((h) => h.name)).toContain(host);
    await waitFor(
      async () => {
        const s = await summaryOf(drained);
        const left = (await slotContainers(drained.name, drained.engine.docker)).filter((c) => c.state === 'running');
        return s && s.running + s.draining + s.starting === 0 && left.length === 0 ? true : undefined;
      },
      120_000,
      `${drained.name} to empty`,
    );

    expect((await controlRequest(drained.socket, { command: 'resume' })).ok).toBe(true);
    await waitFor(
      async () => ((await adsOf(drained)).filter((a) => a.State === 'Unclaimed').length === SLOTS ? true : undefined),
      120_000,
      `${drained.name}'s slots back in the pool`,
    );
  }, 600_000);

  it('rolls the fleet to snapshot B one host at a time with scripts/fleet-roll.sh: no job lost, one host draining at most', async () => {
    await pool.submit({ name: 'roll', command: `${NAME_THE_HOST}; sleep 10`, count: 6 });
    await waitFor(async () => ((await runningOn()).length === 6 ? true : undefined), 120_000, 'six jobs running');

    const hostsFile = path.join(tmp, 'hosts');
    await writeFile(hostsFile, hosts.map((h) => `${h.name} ${path.join(h.dir, 'factory-command')}\n`).join(''));
    // What a site's switch does over ssh: set the image and reload (the snapshot is mounted on every engine already).
    const switchCommand = `sed -i "s|^image: .*|image: $IMAGE|" ${tmp}/$HOST/factory.yaml && kill -HUP $(cat ${tmp}/$HOST/pid)`;
    let sampling = true;
    let mostDraining = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const summaries = await Promise.all(hosts.map((h) => summaryOf(h).catch(() => undefined)));
        mostDraining = Math.max(mostDraining, summaries.filter((s) => (s?.draining ?? 0) > 0).length);
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    const rollStarted = Date.now();
    const child = spawn(
      'bash',
      [ROLL_SCRIPT, '--image', imageB, '--version', VERSION_B, '--switch', switchCommand, '--interval', '2', hostsFile],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let progress = '';
    child.stderr!.on('data', (chunk: Buffer) => (progress += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const rollSeconds = (Date.now() - rollStarted) / 1000;
    sampling = false;
    await sampler;
    console.log(
      `fleet roll of 3 hosts: ${rollSeconds.toFixed(1)} s; at most ${mostDraining} host(s) draining in ${samples} samples\n${progress}`,
    );

    expect(code).toBe(0);
    for (const [i, h] of hosts.entries()) {
      expect(progress).toContain(`${h.name} (${i + 1}/3): switching to ${imageB}`);
      const next = hosts[i + 1];
      if (next)
        expect(progress.indexOf(`${h.name} (${i + 1}/3): on ${imageB}`)).toBeLessThan(
          progress.indexOf(`${next.name} (${i + 2}/3): switching`),
        );
    }
    expect(mostDraining).toBe(1);
    await waitTerminated('roll', 6, 60_000);
    const rollCodes = await codes('roll');
    expect(count(rollCodes, '001')).toBe(6);
    expect(rollCodes).not.toContain('004');
    // The script goes on when a host's containers run; the last host's new pilots advertise a moment later.
    await waitFor(
      async () => {
        const ads = (await Promise.all(hosts.map(adsOf))).flat();
        return ads.length === 6 && ads.every((a) => a.CernVMVersion === VERSION_B) ? true : undefined;
      },
      60_000,
      'six B slots in the collector',
    );
  }, 600_000);

  it('loses a host whose engine is killed: its jobs are requeued and finish elsewhere; restarted, it is refilled', async () => {
    const victim = hosts[2]!;
    // A short lease, so the schedd gives up on the dead host's jobs in seconds, not HTCondor's default 40 minutes.
    await pool.submit({
      name: 'kill',
      // Long enough that the dead host's jobs are still running when its engine is killed, on a loaded machine too.
      command: `${NAME_THE_HOST}; sleep 30`,
      count: 6,
      submitLines: ['job_lease_duration = 20'],
    });
    const before = await waitFor(
      async () => {
        const on = await runningOn();
        return on.length === 6 ? on : undefined;
      },
      120_000,
      'six jobs running',
    );
    expect(before.filter((h) => h === victim.name)).toHaveLength(SLOTS);
    const oldIds = (await slotContainers(victim.name, victim.engine.docker)).map((c) => c.id);

    killed = victim;
    await victim.engine.kill();
    const killedAt = Date.now();
    await waitTerminated('kill', 6, 240_000);
    const requeuedSeconds = (Date.now() - killedAt) / 1000;
    const killCodes = await codes('kill');
    const finishedOn = await outputs('kill', 6);
    console.log(`after the kill: job events ${killCodes.join(' ')}; finished on ${finishedOn.join(' ')}`);
    // Every job ended once with exit 0; the dead host's two were disconnected (022), then requeued and run elsewhere.
    expect(count(killCodes, '005')).toBe(6);
    expect(count(killCodes, '022')).toBe(SLOTS);
    expect(finishedOn).not.toContain(victim.name);
    expect(
      (await pool.events('kill')).filter((e) => e.code === '005').every((e) => e.text.includes('return value 0')),
    ).toBe(true);
    expect(victim.factory!.logs().some((l) => l.event === 'factory-stopped')).toBe(false);

    await victim.engine.startAfterKill();
    killed = undefined;
    const restartedAt = Date.now();
    // A killed startd never withdraws its ad: the collector keeps the dead pilots' ads until they expire, under their
    // names (a later pilot of the same slot index replaces its ad, one of another index does not). Count only the
    // ads of startds started after the engine came back.
    const sinceRestart = Math.floor(restartedAt / 1000) - 1;
    let seen = '';
    await waitFor(
      async () => {
        const s = await summaryOf(victim).catch(() => undefined);
        const ads = await adsOf(victim);
        seen = `summary ${JSON.stringify(s)}, ads ${ads.map((a) => `${a.Name}:${String(a.State)}:${String(a.DaemonStartTime)}`).join(' ')}`;
        const fresh = ads.filter((a) => Number(a.DaemonStartTime) >= sinceRestart && a.State === 'Unclaimed');
        return s?.running === SLOTS && fresh.length === SLOTS ? true : undefined;
      },
      180_000,
      `${victim.name} refilled`,
    ).catch((error: Error) => {
      const log = victim.factory!.output.trimEnd().split('\n').slice(-40).join('\n');
      throw new Error(`${error.message}; last seen: ${seen}\nits factory's last log lines:\n${log}`);
    });
    const now = await slotContainers(victim.name, victim.engine.docker);
    expect(now.filter((c) => c.state === 'running' && !oldIds.includes(c.id))).toHaveLength(SLOTS);
    console.log(
      `engine killed: the jobs all ended ${requeuedSeconds.toFixed(1)} s after the kill; the host was refilled ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its engine restarted`,
    );
  }, 600_000);
});
