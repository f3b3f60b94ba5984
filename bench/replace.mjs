// Replacement latency: a slot's container is killed (SIGKILL through the engine) → the engine has started its
// replacement on the same index. p50/p99 over KILLS kills (default 50) of a factory of SLOTS slots (default 16).
// Each victim has run 10 s or more, so each kill is a first crash (replaced at once), never a crash loop.
// Run as root with a Docker engine, after `npm run build`: `node bench/replace.mjs`.
import { performance } from 'node:perf_hooks';
import { BenchFactory, EngineEvents, docker, percentile, prepareBench, report, sleep, slotContainers } from './lib.mjs';

const slots = Number(process.env.SLOTS ?? 16);
const kills = Number(process.env.KILLS ?? 50);
const name = 'dcvm-bench-replace';
const bench = await prepareBench('replace');
const events = await EngineEvents.open(`org.docker-cernvm.factory=${name}`);
const factory = new BenchFactory(bench, { name, slots });
const latencies = [];
try {
  await factory.running(slots);
  while (latencies.length < kills) {
    const eligible = (await slotContainers(name)).filter(
      (c) => c.state === 'running' && Date.now() / 1000 - c.created >= 12,
    );
    if (!eligible.length) {
      await sleep(250);
      continue;
    }
    const victim = eligible[Math.floor(Math.random() * eligible.length)];
    const killedAt = performance.now();
    await docker.getContainer(victim.id).kill();
    // The start of a new container on the victim's index.
    const replacement = () =>
      events.events.find(
        (e) =>
          e.action === 'start' &&
          e.at >= killedAt &&
          e.id !== victim.id &&
          e.attributes['org.docker-cernvm.slot'] === String(victim.slot),
      );
    while (!replacement()) await sleep(5);
    const started = replacement();
    latencies.push(started.at - killedAt);
    await sleep(100);
  }
} finally {
  events.close();
  await factory.stop();
  await bench.cleanup();
}
const p50 = percentile(latencies, 50);
const p99 = percentile(latencies, 99);
await report(
  'replace',
  [
    `Replacement: a slot's container SIGKILLed → its replacement started (${kills} kills, ${slots} slots)`,
    '',
    '| p50 | p99 | max | target |',
    '| --- | --- | --- | --- |',
    `| ${(p50 / 1000).toFixed(3)} s | ${(p99 / 1000).toFixed(3)} s | ${(Math.max(...latencies) / 1000).toFixed(3)} s | p50 ≤ 0.5 s, p99 ≤ 2 s |`,
  ].join('\n'),
  { slots, kills, latenciesMs: latencies, p50Ms: p50, p99Ms: p99, target: 'p50 ≤ 0.5 s, p99 ≤ 2 s' },
);
