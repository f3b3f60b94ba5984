// Scale: 256 slots without pinning. The time until all run, the factory's RSS once they do, and the CPU time of
// one reconcile() of 256 slots (the pure decision, in this process, median of 1000), beside the daemon's own
// reconcile-pass duration histogram (which includes listing the containers). Run as root with a Docker engine,
// after `npm run build`: `node bench/scale256.mjs` (SLOTS=256).
import { performance } from 'node:perf_hooks';
import { reconcile } from '@docker-cernvm/factory';
import { BenchFactory, EngineEvents, median, metricValue, prepareBench, processSample, report, sleep } from './lib.mjs';

const slots = Number(process.env.SLOTS ?? 256);
const name = 'dcvm-bench-scale';

/** reconcile() over `slots` running containers of the current template: the steady-state pass. */
function reconcileCpuMs() {
  const now = Date.now();
  const observed = Array.from({ length: slots }, (_, slot) => ({
    id: `id-${slot}`,
    slot,
    templateHash: 'h',
    phase: 'running',
    createdAt: now - 60_000,
    draining: false,
    heartbeat: { phase: 'running', state: slot % 2 ? 'Claimed' : 'Unclaimed', epoch: now / 1000 },
  }));
  const input = {
    desired: { slots, draining: false, templateHash: 'h', indexLimit: Infinity },
    observed,
    now,
    retryAt: new Map(),
    creating: new Set(),
  };
  const times = [];
  for (let i = 0; i < 1000; i += 1) {
    const start = process.cpuUsage();
    const actions = reconcile(input);
    const used = process.cpuUsage(start);
    if (actions.length) throw new Error('a steady state should need no action');
    times.push((used.user + used.system) / 1000);
  }
  // cpuUsage has microsecond steps; the mean over 1000 is the finer figure.
  return { median: median(times), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

const bench = await prepareBench('scale');
const events = await EngineEvents.open(`org.docker-cernvm.factory=${name}`);
let result;
try {
  const started = performance.now();
  const factory = new BenchFactory(bench, { name, slots, extra: ['--concurrency', '16'] });
  const allRunAt = await events.nth('start', slots, started, 600_000);
  await factory.running(slots);
  await sleep(35_000); // one resync pass at full size
  const url = await factory.metricsUrl();
  const passSeconds = await metricValue(url, 'cernvm_factory_reconcile_duration_seconds_sum');
  const passes = await metricValue(url, 'cernvm_factory_reconcile_duration_seconds_count');
  const sample = await processSample(factory.pid);
  result = {
    slots,
    convergeSeconds: (allRunAt - started) / 1000,
    rssMb: sample.rssMb,
    meanPassMs: (passSeconds / passes) * 1000,
    reconcileCpuMs: reconcileCpuMs(),
  };
  await factory.stop();
} finally {
  events.close();
  await bench.cleanup();
}
await report(
  'scale256',
  [
    `Scale: ${slots} slots, no pinning`,
    '',
    '| all running after | RSS | reconcile() CPU, 256 slots (mean) | mean daemon pass (list + decide) | targets |',
    '| --- | --- | --- | --- | --- |',
    `| ${result.convergeSeconds.toFixed(1)} s | ${result.rssMb.toFixed(0)} MB | ${result.reconcileCpuMs.mean.toFixed(3)} ms | ${result.meanPassMs.toFixed(1)} ms | converges; RSS ≤ 150 MB; reconcile ≤ 5 ms CPU |`,
  ].join('\n'),
  { ...result, targets: { rssMb: 150, reconcileCpuMs: 5 } },
);
