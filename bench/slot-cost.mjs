// Slot cost: what N of the factory's one-core slots cost a site against the peer it runs without this project, one
// container from the same HTCondor root running condor_master with a startd of N static one-core slots, set up as a
// careful admin would (RUNBENCHMARKS = False, STARTD_DETECT_GPUS = false) with the pilots' own pool and network
// configuration. Both join one central manager on 127.0.0.1 and run one after the other, the side that goes first
// alternating from one case to the next. For each N:
//   - time from process start (the factory's `start --slots N` spawned; the peer's container create) until the
//     collector holds N slot ads of that side (a condor_status loop in the central manager, every 150 ms);
//   - CPU-seconds the side's containers used to get there (cgroup accounting), per slot;
//   - idle CPU per slot over IDLE_SECONDS, after a settling pause, as % of a core;
//   - memory per idle slot (anonymous memory of the cgroups), against the peer's whole container and its share.
// And one slot per core (N = host cores) with the factory pinning, against the peer with N slots.
// Run as root with a Docker engine, after `npm run build`: `node bench/slot-cost.mjs`
// (SLOTS=1,2,8,16 ROUNDS=1 IDLE_SECONDS=60 SETTLE_SECONDS=5 PINNED=1).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LABELS } from '@docker-cernvm/factory';
import { checkPilotOptions, render } from '@docker-cernvm/pilot';
import { CGROUP_VERSION, cpuSeconds, memoryBytes } from './cgroup-usage.mjs';
import { SlotAdWatch, mountCondorImage, startCentralManager } from './condor-pool.mjs';
import { BenchFactory, docker, median, processSample, report, sleep, slotContainers } from './lib.mjs';

const sizes = (process.env.SLOTS ?? '1,2,8,16').split(',').map(Number);
const rounds = Number(process.env.ROUNDS ?? 1);
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 60);
const settleSeconds = Number(process.env.SETTLE_SECONDS ?? 5);
const pinned = process.env.PINNED !== '0';
const cores = availableParallelism();
const MEMORY_MB = 512;

const PREFIX = 'dcvm-bench-slotcost';
const LABEL = { 'org.docker-cernvm.bench': 'slot-cost' };
const TRUST_DOMAIN = 'slot-cost.bench.invalid';
// Fixed, so a run finds and removes what an interrupted one left (mounts, containers, files).
const work = path.join(tmpdir(), 'docker-cernvm-bench-slot-cost');

async function removeContainers() {
  const ours = await docker.listContainers({ all: true, filters: { label: ['org.docker-cernvm.bench=slot-cost'] } });
  const slots = await docker.listContainers({ all: true, filters: { label: [LABELS.factory] } });
  const leftovers = [...ours, ...slots.filter((c) => c.Labels[LABELS.factory].startsWith(PREFIX))];
  await Promise.all(
    leftovers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

const sum = (values) => values.reduce((a, b) => a + b, 0);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** CPU seconds of a side's containers, summed, and when they were read. */
async function usage(ids) {
  const cpu = sum(await Promise.all(ids.map(cpuSeconds)));
  return { cpu, at: performance.now() };
}

/** Waits for the settling pause, then measures the idle window and the memory at its end. */
async function idle(ids, n, daemonPid) {
  await sleep(settleSeconds * 1000);
  const before = await usage(ids);
  const daemonBefore = daemonPid ? await processSample(daemonPid) : undefined;
  await sleep(idleSeconds * 1000);
  const after = await usage(ids);
  const daemonAfter = daemonPid ? await processSample(daemonPid) : undefined;
  const seconds = (after.at - before.at) / 1000;
  const memory = await Promise.all(ids.map(memoryBytes));
  return {
    idlePercentPerSlot: ((after.cpu - before.cpu) / seconds / n) * 100,
    ...(daemonPid ? { daemonIdlePercent: ((daemonAfter.cpuSeconds - daemonBefore.cpuSeconds) / seconds) * 100 } : {}),
    anonBytes: sum(memory.map((m) => m.anon)),
    workingBytes: sum(memory.map((m) => m.working)),
  };
}

let pool;
let watch;
// The factory of the sample under way: on Ctrl-C it must stop before its containers go, or it would make them again.
let factoryRunning;

const sides = {
  /** The factory's real pilot from the mounted root: `start --slots N` spawned, until N slots are advertised. */
  async factory(n, { pin, tag, idleToo = true }) {
    const name = `${PREFIX}-${tag}`;
    const match = new RegExp(`@${escape(name)}-slot-\\d+(@|$)`);
    await watch.polling(true);
    const factory = new BenchFactory(
      { dir: work },
      {
        name,
        slots: n,
        slotArgs: [
          ...['--image', pool.image, '--collector', pool.manager.collector, '--trust-domain', TRUST_DOMAIN],
          ...['--token-file', pool.manager.tokenFile, '--scratch-dir', path.join(work, 'scratch')],
          ...['--memory-mb', String(MEMORY_MB), ...(pin ? [] : ['--no-pin'])],
        ],
      },
    );
    factoryRunning = factory;
    try {
      const advertised = await watch.until(match, n);
      const ids = (await slotContainers(name)).map((c) => c.id);
      const start = await usage(ids);
      const daemon = await processSample(factory.pid);
      await watch.polling(false);
      return {
        advertisedMs: advertised - factory.startedAt,
        startCpuPerSlot: start.cpu / n,
        daemonStartCpu: daemon.cpuSeconds,
        ...(idleToo ? await idle(ids, n, factory.pid) : {}),
      };
    } finally {
      await watch.polling(false);
      await factory.stop();
    }
  },

  /** One container, condor_master with a startd of N static one-core slots: created and started, until N ads. */
  async peer(n, { tag, idleToo = true }) {
    const name = `${PREFIX}-${tag}`;
    const match = new RegExp(`^slot\\d+@${escape(name)}(@|$)`);
    const dir = path.join(work, 'peer', name);
    await writePeerDir(dir, name, n);
    await watch.polling(true);
    const started = performance.now();
    const container = await docker.createContainer({
      name,
      Image: pool.image,
      Cmd: ['condor_master', '-f'],
      Env: ['CONDOR_CONFIG=/peer/condor_config'],
      Labels: LABEL,
      HostConfig: {
        NetworkMode: 'host',
        Init: true,
        Binds: [`${dir}:/peer`, `${pool.manager.tokenFile}:/peer/tokens.d/pool.token:ro`],
        Memory: n * MEMORY_MB * 1024 * 1024,
        MemorySwap: n * MEMORY_MB * 1024 * 1024,
      },
    });
    try {
      await container.start();
      const advertised = await watch.until(match, n);
      const start = await usage([container.id]);
      await watch.polling(false);
      return {
        advertisedMs: advertised - started,
        startCpuPerSlot: start.cpu / n,
        ...(idleToo ? await idle([container.id], n) : {}),
      };
    } finally {
      await watch.polling(false);
      await container.remove({ force: true }).catch(() => undefined);
    }
  },
};

/** The peer's /peer: the pilots' own pool and network files (rendered by the pilot), and the admin's startd. */
async function writePeerDir(dir, name, n) {
  const options = checkPilotOptions({
    collector: pool.manager.collector,
    trustDomain: TRUST_DOMAIN,
    slotName: name,
    pilotDir: '/peer',
  });
  const shared = render(options).filter((f) => /^config\.d\/(10-pool|20-network)\.conf$/.test(f.path));
  await mkdir(path.join(dir, 'config.d'), { recursive: true });
  await mkdir(path.join(dir, 'tokens.d'), { recursive: true, mode: 0o700 });
  await writeFile(
    path.join(dir, 'condor_config'),
    'include : /etc/condor/condor_config\nLOCAL_CONFIG_FILE =\nLOCAL_CONFIG_DIR = /peer/config.d\n',
  );
  for (const file of shared) await writeFile(path.join(dir, file.path), file.content);
  const startd = [
    'use ROLE : Execute',
    'DAEMON_LIST = MASTER, STARTD',
    `MASTER_NAME = ${name}`,
    `STARTD_NAME = ${name}`,
    `NUM_CPUS = ${n}`,
    `MEMORY = ${n * MEMORY_MB}`,
    `NUM_SLOTS = ${n}`,
    `NUM_SLOTS_TYPE_1 = ${n}`,
    'SLOT_TYPE_1 = cpus=1',
    'SLOT_TYPE_1_PARTITIONABLE = False',
    'STARTER_ALLOW_RUNAS_OWNER = False',
    'RUNBENCHMARKS = False',
    'STARTD_DETECT_GPUS = false',
    '',
  ];
  await writeFile(path.join(dir, 'config.d', '30-startd.conf'), startd.join('\n'));
}

let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    watch?.close();
    factoryRunning?.child.kill('SIGTERM');
    await factoryRunning?.exited;
    await removeContainers();
    await pool?.release();
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    if (!mounts.includes(` ${work}/`)) await rm(work, { recursive: true, force: true });
    else console.error(`left ${work}: something is still mounted under it`);
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const cases = [
  ...sizes.map((n) => ({ n, pin: false, label: `${n}` })),
  ...(pinned ? [{ n: cores, pin: true, label: `${cores}, one per core, pinned` }] : []),
];
const samples = cases.map(() => ({ factory: [], peer: [] }));
const runStarted = performance.now();
try {
  await removeContainers();
  await mkdir(work, { recursive: true });
  const image = await mountCondorImage({
    work,
    repository: 'slot-cost.bench.invalid',
    tag: 'docker-cernvm-bench/condor:slot-cost',
  });
  pool = { image: image.image, release: image.release };
  pool.manager = await startCentralManager({
    image: pool.image,
    dir: path.join(work, 'cm'),
    name: `${PREFIX}-cm`,
    labels: LABEL,
    trustDomain: TRUST_DOMAIN,
  });
  watch = new SlotAdWatch(pool.manager);
  // Untimed, once each: the root's files, the pilot's and the factory's paths into the page cache.
  await sides.factory(1, { pin: false, tag: 'warm-f', idleToo: false });
  await sides.peer(1, { tag: 'warm-p', idleToo: false });
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, c] of cases.entries()) {
      const order = (round + i) % 2 === 0 ? ['factory', 'peer'] : ['peer', 'factory'];
      for (const side of order) {
        const tag = `${side[0]}${c.pin ? 'p' : ''}${c.n}-r${round}`;
        const sample = await sides[side](c.n, { pin: c.pin, tag });
        console.error(`${side} N=${c.label} round ${round}: ${JSON.stringify(sample)}`);
        samples[i][side].push(sample);
      }
    }
  }
} finally {
  await cleanUp();
}

const MiB = 1024 * 1024;
const med = (list, key) => median(list.map((s) => s[key]));
const results = cases.map((c, i) => {
  const of = (side) =>
    Object.fromEntries(Object.keys(samples[i][side][0]).map((key) => [key, med(samples[i][side], key)]));
  const factory = of('factory');
  const peer = of('peer');
  return {
    slots: c.n,
    pinned: c.pin,
    label: c.label,
    samples: samples[i],
    factory,
    peer,
    ratios: {
      advertised: factory.advertisedMs / peer.advertisedMs,
      startCpuPerSlot: factory.startCpuPerSlot / peer.startCpuPerSlot,
      idlePerSlot: factory.idlePercentPerSlot / peer.idlePercentPerSlot,
      anonPerSlotVsPeerWhole: factory.anonBytes / c.n / peer.anonBytes,
      anonPerSlotVsPeerShare: factory.anonBytes / peer.anonBytes,
    },
  };
});

const x = (ratio) => `${ratio.toFixed(2)}×`;
const timeTarget = (r) => (r.pinned ? '≤ 1.1×' : r.slots === 8 ? '≤ 1.5× (2 cores)' : '—');
const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
const runMinutes = (performance.now() - runStarted) / 60_000;
await report(
  'slot-cost',
  [
    `Slot cost: the factory's N one-core slots (real pilot, --memory-mb ${MEMORY_MB}, --no-pin unless pinned) against one`,
    `startd container with N static one-core slots, same root and pool (median of ${rounds} round(s); ${cores} cores,`,
    `cgroup v${CGROUP_VERSION}). Targets are printed, never asserted.`,
    '',
    'Time from process start until N slots are advertised in the collector',
    '',
    '| N | factory | one startd, N slots | factory / peer | target |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.label} | ${(r.factory.advertisedMs / 1000).toFixed(2)} s | ${(r.peer.advertisedMs / 1000).toFixed(2)} s | ` +
        `${x(r.ratios.advertised)} | ${timeTarget(r)} |`,
    ),
    '',
    "CPU to get there, per slot (the containers' cgroups; the factory daemon's own CPU from its start beside it)",
    '',
    '| N | factory | one startd, per slot | factory / peer | target | factory daemon (whole) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.factory.startCpuPerSlot.toFixed(2)} s | ${r.peer.startCpuPerSlot.toFixed(2)} s | ` +
        `${x(r.ratios.startCpuPerSlot)} | ≤ 0.3 s | ${r.factory.daemonStartCpu.toFixed(2)} s |`,
    ),
    '',
    `Idle CPU per slot over ${idleSeconds} s, from ${settleSeconds} s after advertising, % of a core`,
    '',
    '| N | factory | one startd, per slot | factory / peer | target | factory daemon (whole) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.factory.idlePercentPerSlot.toFixed(3)} % | ${r.peer.idlePercentPerSlot.toFixed(3)} % | ` +
        `${x(r.ratios.idlePerSlot)} | ≤ 0.05 % and ≤ the peer's | ${r.factory.daemonIdlePercent.toFixed(3)} % |`,
    ),
    '',
    'Memory per idle slot: anonymous memory of the cgroups (v1 memory.stat total_rss, v2 anon) at the end of the idle',
    "window; docker stats' figure (usage − inactive page cache) in the JSON",
    '',
    '| N | factory, per slot | one startd, whole | one startd, per slot | slot / whole peer | slot / peer share | target |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.label} | ${mib(r.factory.anonBytes / r.slots)} | ${mib(r.peer.anonBytes)} | ` +
        `${mib(r.peer.anonBytes / r.slots)} | ${x(r.ratios.anonPerSlotVsPeerWhole)} | ${x(r.ratios.anonPerSlotVsPeerShare)} | ` +
        '≤ 1.0× the whole peer |',
    ),
    '',
    `Run took ${runMinutes.toFixed(1)} min.`,
  ].join('\n'),
  {
    settings: { sizes, rounds, idleSeconds, settleSeconds, pinned, cores, memoryMb: MEMORY_MB, cgroup: CGROUP_VERSION },
    target:
      'advertised ≤ 1.5× peer at N = 8 (2 cores), ≤ 1.1× at one slot per core; start CPU ≤ 0.3 core-s per slot; ' +
      "idle ≤ 0.05 % of a core per slot and ≤ the peer's share; memory per slot ≤ 1.0× the whole peer",
    results,
  },
);
