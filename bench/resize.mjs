// Resize 16 → 32 → 8 on a running factory through its control socket, each step timed until the engine shows it
// done (16 more containers started; 24 containers gone), beside the fill of 16 in the same run (the target: each
// step ≤ 1.2 × that fill). ROUNDS (default 3) alternate nothing: each round is fill, then the two steps.
// Run as root with a Docker engine, after `npm run build`: `node bench/resize.mjs`.
import { performance } from 'node:perf_hooks';
import { BenchFactory, EngineEvents, median, prepareBench, report, seconds } from './lib.mjs';

const rounds = Number(process.env.ROUNDS ?? 3);
const name = 'dcvm-bench-resize';
const bench = await prepareBench('resize');
const events = await EngineEvents.open(`org.docker-cernvm.factory=${name}`);
const samples = { fill16: [], up32: [], down8: [] };
try {
  for (let round = 0; round < rounds; round += 1) {
    let mark = performance.now();
    const factory = new BenchFactory(bench, { name, slots: 16 });
    samples.fill16.push((await events.nth('start', 16, mark)) - mark);
    mark = performance.now();
    await factory.request({ command: 'scale', slots: 32 });
    samples.up32.push((await events.nth('start', 16, mark)) - mark);
    mark = performance.now();
    await factory.request({ command: 'scale', slots: 8 });
    samples.down8.push((await events.nth('destroy', 24, mark)) - mark);
    await factory.stop();
  }
} finally {
  events.close();
  await bench.cleanup();
}
const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
await report(
  'resize',
  [
    `Resize on a running factory (median of ${rounds}; scale-down drains its victims, which exit at once here)`,
    '',
    '| step | time | × fill of 16 | target |',
    '| --- | --- | --- | --- |',
    `| fill 0 → 16 (from process start) | ${seconds(m.fill16)} | 1.00 | — |`,
    `| scale 16 → 32 | ${seconds(m.up32)} | ${(m.up32 / m.fill16).toFixed(2)} | ≤ 1.2 |`,
    `| scale 32 → 8 (24 drained and removed) | ${seconds(m.down8)} | ${(m.down8 / m.fill16).toFixed(2)} | ≤ 1.2 |`,
  ].join('\n'),
  { rounds, samplesMs: samples, medianMs: m, target: 'each step ≤ 1.2 × fill of 16' },
);
