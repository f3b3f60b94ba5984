// Two builds of the factory, one before a change and one after, each timed filling N slots from process start
// (`start --slots N`), alternating which goes first, each sample from the same host state (resetHostState). A change
// to start-up is worth a few tens of milliseconds; fill.mjs's baselines vary more than that between runs, a build
// against a build does not. Reports the median fill and when each made its first container.
// Run as root with a Docker engine, both builds built: `BEFORE=/path/to/old/checkout node bench/compare-builds.mjs`
// (AFTER defaults to this checkout; N 16, ROUNDS 10).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BenchFactory, EngineEvents, median, prepareBench, removeFactoryContainers, report, resetHostState, seconds, warmFactory, warmSlotImage } from './lib.mjs';

const binOf = (checkout) => path.join(checkout, 'packages', 'factory', 'bin', 'docker-cernvm-factory.cjs');
if (!process.env.BEFORE) throw new Error('BEFORE: name the checkout (built) to compare this one with');
const builds = { before: binOf(process.env.BEFORE), after: binOf(process.env.AFTER ?? path.dirname(path.dirname(fileURLToPath(import.meta.url)))) };
const n = Number(process.env.N ?? 16);
const rounds = Number(process.env.ROUNDS ?? 10);
const name = 'dcvm-bench-builds';

const bench = await prepareBench('builds');
const events = await EngineEvents.open(`org.docker-cernvm.factory=${name}`);
const warm = async () => {
  await warmSlotImage(bench);
  for (const bin of Object.values(builds)) await warmFactory(bench, bin);
};

async function fill(bin) {
  const started = performance.now();
  const factory = new BenchFactory(bench, { name, slots: n, bin });
  const total = (await events.nth('start', n, started)) - started;
  const first = (await events.nth('create', 1, started)) - started;
  await factory.stop();
  return { total, first };
}

const samples = { before: [], after: [] };
try {
  for (let round = 0; round < rounds; round += 1) {
    for (const which of round % 2 ? ['after', 'before'] : ['before', 'after']) {
      await removeFactoryContainers(name);
      await resetHostState(warm);
      samples[which].push(await fill(builds[which]));
    }
  }
} finally {
  events.close();
  await removeFactoryContainers(name);
  await bench.cleanup();
}

const summary = Object.fromEntries(
  Object.entries(samples).map(([which, s]) => [which, { fillMs: median(s.map((x) => x.total)), firstCreateMs: median(s.map((x) => x.first)) }]),
);
await report(
  'compare-builds',
  [
    `Fill of ${n} from process start, two builds alternating (median of ${rounds} rounds each)`,
    '',
    '| build | fill | first container made after |',
    '| --- | --- | --- |',
    ...Object.entries(summary).map(([which, s]) => `| ${which} (${builds[which]}) | ${seconds(s.fillMs)} | ${seconds(s.firstCreateMs)} |`),
    '',
    `after / before: ${(summary.after.fillMs / summary.before.fillMs).toFixed(3)}`,
  ].join('\n'),
  { slots: n, rounds, builds, samplesMs: samples, summary },
);
