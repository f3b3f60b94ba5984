// Steady state: a factory holding SLOTS slots (default 64) for DURATION seconds (default 300) after they all run:
// its CPU (share of one core), its RSS, and its Docker API requests per resync interval (from its own counter on
// /metrics; the resync is the default 30 s). Run as root with a Docker engine, after `npm run build`:
// `node bench/steady.mjs`.
import { BenchFactory, metricValue, prepareBench, processSample, report, sleep } from './lib.mjs';

const slots = Number(process.env.SLOTS ?? 64);
const duration = Number(process.env.DURATION ?? 300);
const resyncSeconds = 30;
const name = 'dcvm-bench-steady';
const bench = await prepareBench('steady');
const factory = new BenchFactory(bench, { name, slots, extra: ['--resync-seconds', String(resyncSeconds)] });
let result;
try {
  await factory.running(slots);
  const url = await factory.metricsUrl();
  await sleep(10_000); // past the fill's last passes
  const first = await processSample(factory.pid);
  const requestsBefore = await metricValue(url, 'cernvm_factory_docker_api_requests_total');
  let maxRss = first.rssMb;
  for (let t = 0; t < duration; t += 5) {
    await sleep(5_000);
    maxRss = Math.max(maxRss, (await processSample(factory.pid)).rssMb);
  }
  const last = await processSample(factory.pid);
  // Less this scrape's own count: /metrics is not the engine.
  const requests = (await metricValue(url, 'cernvm_factory_docker_api_requests_total')) - requestsBefore;
  const wallSeconds = (last.at - first.at) / 1000;
  result = {
    slots,
    durationSeconds: wallSeconds,
    cpuShareOfCore: (last.cpuSeconds - first.cpuSeconds) / wallSeconds,
    maxRssMb: maxRss,
    apiRequests: requests,
    apiRequestsPerResync: requests / (wallSeconds / resyncSeconds),
  };
} finally {
  await factory.stop();
  await bench.cleanup();
}
await report(
  'steady',
  [
    `Steady state: ${slots} slots for ${result.durationSeconds.toFixed(0)} s (resync every ${resyncSeconds} s)`,
    '',
    '| CPU (share of one core) | max RSS | Docker API requests | per resync interval | targets |',
    '| --- | --- | --- | --- | --- |',
    `| ${(result.cpuShareOfCore * 100).toFixed(2)} % | ${result.maxRssMb.toFixed(0)} MB | ${result.apiRequests} | ${result.apiRequestsPerResync.toFixed(2)} | CPU ≤ 1 %, RSS ≤ 100 MB, ≤ 1 request per resync |`,
  ].join('\n'),
  { ...result, targets: { cpuShareOfCore: 0.01, maxRssMb: 100, apiRequestsPerResync: 1 } },
);
