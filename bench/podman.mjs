// Podman against Docker 20.10 on the same host, in one run (issue 23): the fill of N slots, each side's factory
// `start --slots N` until the engine's Nth start event, beside `docker run -d` ×N through the CLI (8 in parallel, the
// same settings and binds) against the same engine, so a difference shows as the engine's or the factory's. The
// engines take turns, rounds alternating which goes first, the page cache dropped and each side warmed before every
// sample (resetHostState). Ratios are of medians within this run.
// Run as root after `npm run build`, with the host's dockerd and podman's service up (`bash scripts/podman.sh start`;
// PODMAN_SOCKET names another socket): `node bench/podman.mjs` (SLOTS=16 ROUNDS=3).
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import Dockerode from 'dockerode';
import {
  BenchFactory,
  EngineEvents,
  HOST_ENGINE,
  median,
  prepareBench,
  removeFactoryContainers,
  report,
  resetHostState,
  run,
  seconds,
  warmFactory,
  warmSlotImage,
} from './lib.mjs';
import { buildSlotImage } from './slot-image.mjs';

const slots = Number(process.env.SLOTS ?? 16);
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
const binds = (i) => [
  `${bench.dir}/run/pilot-${i}:/pilot`,
  `${bench.tokenFile}:/pilot/tokens.d/pool.token:ro`,
  `${bench.dir}/run/scratch-${i}:/scratch`,
];
await Promise.all(
  Array.from({ length: slots }, (_, i) => [
    mkdir(`${bench.dir}/run/pilot-${i}/tokens.d`, { recursive: true }),
    mkdir(`${bench.dir}/run/pilot-${i}/status`, { recursive: true }),
    mkdir(`${bench.dir}/run/scratch-${i}`, { recursive: true }),
  ]).flat(),
);

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
      const volumes = binds('{}')
        .map((b) => `-v ${b}`)
        .join(' ');
      const script =
        `seq 0 ${slots - 1} | xargs -P 8 -I{} docker run -d --network host --init --memory 64m --memory-swap 64m ` +
        `${engine.runArgs.join(' ')} ${volumes} --label ${label} --name dcvm-bench-podman-run-{} ${bench.image} >/dev/null`;
      await run('bash', ['-c', script], { env: { ...process.env, ...engine.env } });
    }),
};

const samples = Object.fromEntries(
  engines.map((engine) => [engine.name, Object.fromEntries(Object.keys(contenders).map((c) => [c, []]))]),
);
try {
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? engines : [...engines].reverse();
    for (const engine of order) {
      for (const [which, measure] of Object.entries(contenders)) {
        await removeAll(engine);
        await resetHostState(() => warm(engine));
        samples[engine.name][which].push(await measure(engine));
      }
    }
  }
} finally {
  for (const engine of engines) await removeAll(engine);
  await bench.cleanup();
}

const m = Object.fromEntries(
  engines.map((engine) => [
    engine.name,
    Object.fromEntries(Object.keys(contenders).map((c) => [c, median(samples[engine.name][c])])),
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
  ].join('\n'),
  { slots, rounds, samplesMs: samples, medianMs: m },
);
