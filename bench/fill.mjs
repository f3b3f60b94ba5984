// Fill: the time until N slots run, for `docker-cernvm-factory start --slots N` beside the two baselines the targets
// name, in one run, rounds rotating which goes first, each from no containers. The factory is timed twice: from its
// process start (`start --slots N`), and already running when told `scale N` (how a site's daemon fills):
//   - `docker run -d` through the CLI, the same N containers, 8 in parallel (xargs -P 8): the slot's settings, its
//     binds (/pilot read-only but for its status directory, the token file read-only, its scratch directory) and its
//     hardening (capabilities, no new privileges, a process limit), each slot its own directories;
//   - `docker-compose up -d --scale slot=N` (Debian's docker-compose 1.29), the same settings, binds and hardening
//     (one set of directories for all: compose cannot give each replica its own);
//   - and, as a reference only, `docker run -d` of bare containers (no binds, no hardening).
// "Run" is the engine's own start event for the Nth container. Ratios are of medians within this run.
// Run as root with a Docker engine, after `npm run build`: `node bench/fill.mjs` (SLOTS=16,64 ROUNDS=3).
import { writeFile } from 'node:fs/promises';
import { DEFAULT_PIDS_LIMIT, SLOT_CAPABILITIES } from '@docker-cernvm/pilot';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  BenchFactory,
  EngineEvents,
  makeSlotDirs,
  median,
  prepareBench,
  removeFactoryContainers,
  report,
  resetHostState,
  run,
  seconds,
  slotBinds,
  slotRunArgs,
  warmFactory,
  warmSlotImage,
} from './lib.mjs';

const sizes = (process.env.SLOTS ?? '16,64').split(',').map(Number);
const rounds = Number(process.env.ROUNDS ?? 3);
const label = 'org.docker-cernvm.bench=fill';
const factoryName = 'dcvm-bench-fill';

const bench = await prepareBench('fill');
// The baselines make the factory's slot containers (slotRunArgs): its binds, hardening and limits. Their directories
// are made before their clock starts; the factory writes its own while it fills. Each has the status/ directory the
// factory's have: the slot writes its heartbeat there from the moment it starts (five processes a second), and skips
// that where there is none, as the baselines' slots once did, sparing them CPU that the factory's slots took from the
// engine while it was still making the rest.
await makeSlotDirs(bench, Math.max(...sizes));
const compose = path.join(bench.dir, 'docker-compose.yml');
const composeCli = (...args) => run('docker-compose', ['-f', compose, '-p', 'dcvm-bench-fill', ...args]);
// The same settings as the factory's slots: host network, an init, 64 MB without swap, the image's own command, the
// slot's binds and hardening.
const list = (items) => items.map((item) => `      - ${item}\n`).join('');
await writeFile(
  compose,
  `version: "2.4"\nservices:\n  slot:\n    image: ${bench.image}\n    network_mode: host\n    init: true\n` +
    `    mem_limit: 64m\n    memswap_limit: 64m\n    pids_limit: ${DEFAULT_PIDS_LIMIT}\n` +
    `    volumes:\n${list(slotBinds(bench, 0))}    cap_drop:\n${list(['ALL'])}    cap_add:\n${list(SLOT_CAPABILITIES)}` +
    `    security_opt:\n${list(['no-new-privileges'])}    labels:\n${list([label])}`,
);
const events = await EngineEvents.open(label);
const factoryEvents = await EngineEvents.open(`org.docker-cernvm.factory=${factoryName}`);

async function removeAll() {
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=${label}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length) await run('docker', ['rm', '-f', ...ids]);
  await removeFactoryContainers(factoryName);
}

/** What every contender's timed path reads, back in the page cache: each makes one container its own way. */
async function warmAll() {
  await warmSlotImage(bench);
  await warmFactory(bench);
  await composeCli('up', '-d', '--scale', 'slot=1');
  await composeCli('down', '--timeout', '1');
}

async function dockerRunOf(n, settings) {
  const started = performance.now();
  const script = `seq 0 ${n - 1} | xargs -P 8 -I{} docker run -d ${settings} --label ${label} --name dcvm-bench-run-{} ${bench.image} >/dev/null`;
  await run('bash', ['-c', script]);
  return [(await events.nth('start', n, started)) - started, (await events.nth('create', 1, started)) - started];
}

const contenders = {
  async factory(n) {
    const started = performance.now();
    const factory = new BenchFactory(bench, { name: factoryName, slots: n });
    const at = await factoryEvents.nth('start', n, started);
    await factory.stop();
    return [at - started, (await factoryEvents.nth('create', 1, started)) - started];
  },
  // The daemon as a site runs it: already up (started with --slots 0 before the clock starts), told to scale to N.
  async factoryRunning(n) {
    const factory = new BenchFactory(bench, { name: factoryName, slots: 0 });
    await factory.until((l) => l.event === 'factory-starting');
    const started = performance.now();
    await factory.request({ command: 'scale', slots: n });
    const at = await factoryEvents.nth('start', n, started);
    await factory.stop();
    return [at - started, (await factoryEvents.nth('create', 1, started)) - started];
  },
  async dockerRun(n) {
    return dockerRunOf(n, slotRunArgs(bench, '{}').join(' '));
  },
  async dockerRunBare(n) {
    return dockerRunOf(n, '--network host --init --memory 64m');
  },
  async compose(n) {
    const started = performance.now();
    await composeCli('up', '-d', '--scale', `slot=${n}`);
    const at = await events.nth('start', n, started);
    await composeCli('down', '--timeout', '1');
    return [at - started, (await events.nth('create', 1, started)) - started];
  },
};

const results = [];
try {
  for (const n of sizes) {
    const names = Object.keys(contenders);
    const samples = Object.fromEntries(names.map((name) => [name, []]));
    const firstCreate = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round < rounds; round += 1) {
      // Rotate which goes first, so none always meets a warmer engine.
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const which of order) {
        await removeAll();
        await resetHostState(warmAll);
        const [total, first] = await contenders[which](n);
        samples[which].push(total);
        firstCreate[which].push(first);
      }
    }
    await removeAll();
    const m = Object.fromEntries(names.map((name) => [name, median(samples[name])]));
    results.push({
      slots: n,
      rounds,
      samplesMs: samples,
      medianMs: m,
      // When the first container was made: how much of each total is getting started (a process, its modules).
      firstCreateMedianMs: Object.fromEntries(names.map((name) => [name, median(firstCreate[name])])),
      vsDockerRun: m.factory / m.dockerRun,
      vsCompose: m.factory / m.compose,
      runningVsDockerRun: m.factoryRunning / m.dockerRun,
      runningVsCompose: m.factoryRunning / m.compose,
      vsDockerRunBare: m.factory / m.dockerRunBare,
      runningVsDockerRunBare: m.factoryRunning / m.dockerRunBare,
    });
  }
} finally {
  events.close();
  factoryEvents.close();
  await removeAll();
  await bench.cleanup();
}

const firsts = results.map(
  (r) =>
    `| ${r.slots} | ${seconds(r.firstCreateMedianMs.factory)} | ${seconds(r.firstCreateMedianMs.factoryRunning)} | ` +
    `${seconds(r.firstCreateMedianMs.dockerRun)} | ${seconds(r.firstCreateMedianMs.compose)} |`,
);
const rows = results.flatMap((r) =>
  [
    [`factory start --slots ${r.slots}`, r.medianMs.factory, r.vsDockerRun, r.vsCompose, r.vsDockerRunBare],
    [
      `running factory, scale 0 → ${r.slots}`,
      r.medianMs.factoryRunning,
      r.runningVsDockerRun,
      r.runningVsCompose,
      r.runningVsDockerRunBare,
    ],
  ].map(
    ([which, ms, vsRun, vsCompose, vsBare]) =>
      `| ${r.slots} | ${which} | ${seconds(ms)} | ${seconds(r.medianMs.dockerRun)} | ${seconds(r.medianMs.compose)} | ` +
      `${vsRun.toFixed(2)}× | ${vsCompose.toFixed(2)}× | ${seconds(r.medianMs.dockerRunBare)} | ${vsBare.toFixed(2)}× |`,
  ),
);
await report(
  'fill',
  [
    `Fill: time until N slots run (median of ${rounds} rotating rounds; targets: ≤ 1.0× docker run, < 1.0× compose)`,
    'The baselines make the same containers as the factory, binds and hardening included; bare docker run (neither) is for reference.',
    '',
    '| N | factory | factory time | docker run -d, 8 in parallel | docker-compose --scale | vs docker run | vs compose | bare docker run | vs bare |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'First container made after (median): what getting started costs each',
    '',
    '| N | factory start | running factory | docker run | docker-compose |',
    '| --- | --- | --- | --- | --- |',
    ...firsts,
  ].join('\n'),
  { target: 'factory / docker run ≤ 1.0; factory faster than docker-compose', results },
);
