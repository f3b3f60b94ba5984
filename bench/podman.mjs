// Podman against Docker 20.10 on the same host, in one run (issue 23), the engines taking turns, rounds alternating
// which goes first. Ratios are of medians within this run.
//   - The fill of N slots: each engine's factory `start --slots N` (the stand-in slot image) until the engine's Nth
//     start event, beside `docker run -d` ×N through the CLI (8 in parallel; the slots' own settings, binds and
//     hardening: slotRunArgs) against the same engine, so a difference shows as the engine's or the factory's. The
//     page cache is dropped and each side warmed before every sample (resetHostState).
//   - The time until M real pilots are advertised in a pool (a central manager on the host's Docker, 127.0.0.1): the
//     factory's `start --slots M` from its spawn, on Docker from the tests' HTCondor root mounted over a placeholder,
//     on podman from the same root as the slots' own root (`cernvm:` in its configuration).
// Run as root after `npm run build`, with the host's dockerd and podman's service up (`bash scripts/podman.sh start`;
// PODMAN_SOCKET names another socket): `node bench/podman.mjs` (SLOTS=16 ADVERTISED=4 ROUNDS=3).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Dockerode from 'dockerode';
import { SlotAdWatch, mountCondorImage, startCentralManager } from './condor-pool.mjs';
import {
  BenchFactory,
  EngineEvents,
  HOST_ENGINE,
  makeSlotDirs,
  median,
  prepareBench,
  removeFactoryContainers,
  report,
  resetHostState,
  run,
  seconds,
  slotRunArgs,
  warmFactory,
  warmSlotImage,
} from './lib.mjs';
import { buildSlotImage } from './slot-image.mjs';

const slots = Number(process.env.SLOTS ?? 16);
const advertised = Number(process.env.ADVERTISED ?? 4);
const rounds = Number(process.env.ROUNDS ?? 3);
const podmanSocket = process.env.PODMAN_SOCKET ?? '/run/docker-cernvm-podman/podman.sock';
const label = 'org.docker-cernvm.bench=podman';
const factoryName = 'dcvm-bench-podman';

// Podman raises a container's open files and processes above this host's hard limits unless told (docs/podman.md):
// the factory sends explicit limits, and so does the CLI here.
const podman = {
  name: 'podman',
  client: new Dockerode({ socketPath: podmanSocket }),
  env: { DOCKER_HOST: `unix://${podmanSocket}` },
  runArgs: ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'],
};
const engines = [HOST_ENGINE, podman];
await podman.client.ping().catch((error) => {
  throw new Error(
    `podman's service does not answer at ${podmanSocket} (${error.message}): bash scripts/podman.sh start`,
  );
});

const bench = await prepareBench('podman');
await buildSlotImage(podman.client);
await makeSlotDirs(bench, slots);

async function removeAll(engine) {
  const env = { ...process.env, ...engine.env };
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=${label}`], { env });
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length) await run('docker', ['rm', '-f', ...ids], { env });
  await removeFactoryContainers(factoryName, engine.client);
}

async function warm(engine) {
  await warmSlotImage(bench, engine);
  await warmFactory(bench, engine);
}

/** Time from the start until the engine's Nth start event of containers carrying `eventLabel`. */
async function timed(engine, eventLabel, begin) {
  const events = await EngineEvents.open(eventLabel, engine.client);
  try {
    const started = performance.now();
    const finish = await begin();
    const at = await events.nth('start', slots, started);
    await finish?.();
    return at - started;
  } finally {
    events.close();
  }
}

const contenders = {
  factory: (engine) =>
    timed(engine, `org.docker-cernvm.factory=${factoryName}`, () => {
      const factory = new BenchFactory(bench, { name: factoryName, slots, env: engine.env, engine: engine.client });
      return () => factory.stop();
    }),
  dockerRun: (engine) =>
    timed(engine, label, async () => {
      const settings = [...slotRunArgs(bench, '{}'), ...engine.runArgs].join(' ');
      const script =
        `seq 0 ${slots - 1} | xargs -P 8 -I{} docker run -d ${settings} ` +
        `--label ${label} --name dcvm-bench-podman-run-{} ${bench.image} >/dev/null`;
      await run('bash', ['-c', script], { env: { ...process.env, ...engine.env } });
    }),
};

// The pool's parts: fixed names and directory, so a later run removes what an interrupted one left.
const work = path.join(tmpdir(), 'docker-cernvm-bench-podman');
const CONDOR_REPOSITORY = 'condor-podman.bench.invalid';
const TRUST_DOMAIN = 'podman.bench.invalid';
const MANAGER = 'dcvm-bench-podman-cm';
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function startPool() {
  await run('docker', ['rm', '-f', MANAGER]).catch(() => undefined);
  const condor = await mountCondorImage({ work, repository: CONDOR_REPOSITORY, tag: 'dcvm-bench-podman/condor:1' });
  const manager = await startCentralManager({
    ...{ image: condor.image, dir: path.join(work, 'cm'), name: MANAGER },
    ...{ labels: { 'org.docker-cernvm.bench': 'podman' }, trustDomain: TRUST_DOMAIN },
  });
  // podman runs the slots from the root the placeholder shows on Docker: <work>/cvmfs/<repository>/cvm4.
  const podmanConfig = path.join(work, 'podman-factory.yaml');
  await writeFile(podmanConfig, `cernvm:\n  repository: ${CONDOR_REPOSITORY}\ncvmfsDir: ${path.join(work, 'cvmfs')}\n`);
  const rootArgs = { docker: ['--image', condor.image], podman: ['--config', podmanConfig] };
  const watch = new SlotAdWatch(manager);
  const stop = async () => {
    watch.close();
    await run('docker', ['rm', '-f', MANAGER]).catch(() => undefined);
    await condor.release();
  };
  return { manager, watch, rootArgs, stop };
}

/** From the factory's spawn until `advertised` of its real pilots are in the collector. */
async function timeToAdvertise(engine, pool, round) {
  const name = `dcvm-bench-podman-${engine.name}-${round}`;
  const match = new RegExp(`@${escape(name)}-slot-\\d+(@|$)`);
  await pool.watch.polling(true);
  const factory = new BenchFactory(
    { dir: work },
    {
      ...{ name, slots: advertised, env: engine.env, engine: engine.client },
      slotArgs: [
        ...pool.rootArgs[engine.name],
        ...['--collector', pool.manager.collector, '--trust-domain', TRUST_DOMAIN],
        ...['--token-file', pool.manager.tokenFile, '--scratch-dir', path.join(work, 'scratch')],
        ...['--memory-mb', '512', '--no-pin'],
      ],
    },
  );
  try {
    return (await pool.watch.until(match, advertised)) - factory.startedAt;
  } finally {
    await pool.watch.polling(false);
    await factory.stop();
  }
}

const samples = Object.fromEntries(
  engines.map((engine) => [
    engine.name,
    { ...Object.fromEntries(Object.keys(contenders).map((c) => [c, []])), advertised: [] },
  ]),
);
const orderOf = (round) => (round % 2 === 0 ? engines : [...engines].reverse());
let pool;
try {
  for (let round = 0; round < rounds; round += 1) {
    for (const engine of orderOf(round)) {
      for (const [which, measure] of Object.entries(contenders)) {
        await removeAll(engine);
        await resetHostState(() => warm(engine));
        samples[engine.name][which].push(await measure(engine));
      }
    }
  }
  for (const engine of engines) await removeAll(engine);
  pool = await startPool();
  for (let round = 0; round < rounds; round += 1) {
    for (const engine of orderOf(round))
      samples[engine.name].advertised.push(await timeToAdvertise(engine, pool, round));
  }
} finally {
  for (const engine of engines) await removeAll(engine);
  await pool?.stop();
  await bench.cleanup();
}

const m = Object.fromEntries(
  engines.map((engine) => [
    engine.name,
    Object.fromEntries(Object.entries(samples[engine.name]).map(([which, list]) => [which, median(list)])),
  ]),
);
const x = (ratio) => `${ratio.toFixed(2)}×`;
await report(
  'podman',
  [
    `Podman 4.3 against Docker 20.10, the same host: time until ${slots} slots run (median of ${rounds} rounds)`,
    '',
    '| | Docker 20.10 | podman 4.3 | podman / Docker |',
    '| --- | --- | --- | --- |',
    `| factory start --slots ${slots} | ${seconds(m.docker.factory)} | ${seconds(m.podman.factory)} | ${x(m.podman.factory / m.docker.factory)} |`,
    `| docker run -d ×${slots}, 8 in parallel | ${seconds(m.docker.dockerRun)} | ${seconds(m.podman.dockerRun)} | ${x(m.podman.dockerRun / m.docker.dockerRun)} |`,
    `| factory / docker run | ${x(m.docker.factory / m.docker.dockerRun)} | ${x(m.podman.factory / m.podman.dockerRun)} | |`,
    '',
    `Time from the factory's start until ${advertised} real pilots are advertised in the pool (median of ${rounds})`,
    '',
    '| | Docker 20.10 (placeholder) | podman 4.3 (rootfs) | podman / Docker |',
    '| --- | --- | --- | --- |',
    `| start --slots ${advertised} | ${seconds(m.docker.advertised)} | ${seconds(m.podman.advertised)} | ${x(m.podman.advertised / m.docker.advertised)} |`,
  ].join('\n'),
  { slots, advertised, rounds, samplesMs: samples, medianMs: m },
);
