// Collector load: what the central manager's condor_collector spends on a fleet's pilots. Three factories of
// SLOTS (16) real pilots each join one central manager on 127.0.0.1, all on the host's engine: three factories stand
// for three hosts (the collector sees one startd per pilot either way; three private engines as well would only add
// dockerd load to a two-core machine). Measured from /proc of the collector process:
//   - its CPU-seconds while the 3 × SLOTS pilots start and advertise for the first time (each authenticates);
//   - its CPU over WINDOW_SECONDS (330: longer than the pilots' UPDATE_INTERVAL, 300 s) of steady advertising after SETTLE_SECONDS (20), per slot, and per update
//     received (the sum of the ads' UpdateSequenceNumber, slot and master ads, before and after the window);
//   - its resident memory at the end.
// Run as root with a Docker engine, after `npm run build`: `node bench/collector-load.mjs`
// (SLOTS=16 FACTORIES=3 WINDOW_SECONDS=330 SETTLE_SECONDS=20).
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SlotAdWatch, mountCondorImage, startCentralManager } from './condor-pool.mjs';
import { BenchFactory, docker, processSample, removeFactoryContainers, report, sleep } from './lib.mjs';

const run = promisify(execFile);
const slots = Number(process.env.SLOTS ?? 16);
const factories = Number(process.env.FACTORIES ?? 3);
const windowSeconds = Number(process.env.WINDOW_SECONDS ?? 330);
const settleSeconds = Number(process.env.SETTLE_SECONDS ?? 20);

const PREFIX = 'dcvm-bench-collector';
const CM = `${PREFIX}-cm`;
const TRUST_DOMAIN = 'collector-load.bench.invalid';
// Fixed, so a run finds and removes what an interrupted one left (mounts, containers, files).
const work = path.join(tmpdir(), 'docker-cernvm-bench-collector-load');
const names = Array.from({ length: factories }, (_, i) => `${PREFIX}-${i + 1}`);

async function removeContainers() {
  for (const name of names) await removeFactoryContainers(name);
  await docker
    .getContainer(CM)
    .remove({ force: true })
    .catch(() => undefined);
}

/** The host pid of the central manager's condor_collector. */
async function collectorPid() {
  const { stdout } = await run('docker', ['top', CM, '-eo', 'pid,comm']);
  const line = stdout.split('\n').find((l) => /\scondor_collecto/.test(l));
  if (!line) throw new Error(`no condor_collector in ${CM}:\n${stdout}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/** Updates the collector has received for the ads it holds: their UpdateSequenceNumber, summed. */
async function updatesReceived() {
  let total = 0;
  for (const kind of ['-slots', '-master']) {
    const { stdout } = await run('docker', ['exec', CM, 'condor_status', kind, '-af', 'UpdateSequenceNumber']);
    total += stdout
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .reduce((sum, l) => sum + Number(l), 0);
  }
  return total;
}

await removeContainers();
const image = await mountCondorImage({ work, repository: 'collector-load.bench.invalid', tag: `${PREFIX}:condor` });
let watch;
const running = [];
try {
  const manager = await startCentralManager({
    image: image.image,
    dir: path.join(work, 'cm'),
    name: CM,
    labels: { 'org.docker-cernvm.bench': 'collector-load' },
    trustDomain: TRUST_DOMAIN,
  });
  watch = new SlotAdWatch(manager, 1000);
  await watch.polling(true);
  const pid = await collectorPid();

  for (const name of names) await mkdir(path.join(work, name), { recursive: true });
  const fillBefore = await processSample(pid);
  for (const name of names)
    running.push(
      new BenchFactory(
        { dir: path.join(work, name) },
        {
          name,
          slots,
          slotArgs: [
            ...['--image', image.image, '--collector', manager.collector, '--trust-domain', TRUST_DOMAIN],
            ...['--token-file', manager.tokenFile, '--scratch-dir', path.join(work, name, 'scratch')],
            ...['--memory-mb', '256', '--no-pin'],
          ],
        },
      ),
    );
  const total = slots * factories;
  const filledAt = await watch.until(new RegExp(PREFIX), total, 600_000);
  const fillAfter = await processSample(pid);
  const fillSeconds = (filledAt - fillBefore.at) / 1000;
  // The watch's own condor_status every second costs the collector too: it stops before the window.
  await watch.polling(false);
  await sleep(settleSeconds * 1000);

  const updatesBefore = await updatesReceived();
  const before = await processSample(pid);
  await sleep(windowSeconds * 1000);
  const after = await processSample(pid);
  const updatesAfter = await updatesReceived();
  const seconds = (after.at - before.at) / 1000;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  // The two condor_status queries at the window's edges are inside it; they are two of `updates` requests.
  const updates = updatesAfter - updatesBefore;
  const result = {
    factories,
    slotsPerFactory: slots,
    slots: total,
    fill: { seconds: fillSeconds, collectorCpuSeconds: fillAfter.cpuSeconds - fillBefore.cpuSeconds },
    window: {
      seconds,
      collectorCpuSeconds: cpu,
      collectorCpuPercent: (cpu / seconds) * 100,
      collectorCpuPercentPerSlot: ((cpu / seconds) * 100) / total,
      updates,
      updatesPerSecond: updates / seconds,
      cpuMillisecondsPerUpdate: updates > 0 ? (cpu * 1000) / updates : null,
    },
    collectorRssMb: after.rssMb,
  };
  const f = (x, digits = 2) => (x === null ? '—' : x.toFixed(digits));
  const markdown = [
    `# Collector load: ${factories} factories × ${slots} pilots, one central manager`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| fill: time until the collector held ${total} slot ads | ${f(fillSeconds, 1)} s |`,
    `| fill: collector CPU | ${f(result.fill.collectorCpuSeconds)} s, ${f((result.fill.collectorCpuSeconds * 1000) / total, 1)} ms per new pilot |`,
    `| steady window | ${f(seconds, 0)} s |`,
    `| collector CPU in the window | ${f(cpu)} s, ${f(result.window.collectorCpuPercent, 3)} % of a core |`,
    `| per slot | ${f(result.window.collectorCpuPercentPerSlot, 4)} % of a core |`,
    `| updates received (slot and master ads) | ${updates}, ${f(result.window.updatesPerSecond, 3)} per s |`,
    `| CPU per update | ${f(result.window.cpuMillisecondsPerUpdate, 2)} ms |`,
    `| collector resident memory | ${f(after.rssMb, 1)} MB |`,
    '',
  ].join('\n');
  await report('collector-load', markdown, result);
} finally {
  watch?.close();
  await Promise.all(running.map((factory) => factory.stop().catch(() => undefined)));
  await removeContainers();
  await image.release();
  await rm(work, { recursive: true, force: true });
}
