// Fill: the time until N slots run, for `docker-cernvm-factory start --slots N` beside the baseline the targets name:
// `docker run -d` through the CLI, the same N containers, 8 in parallel (xargs -P 8). Rounds alternate within one
// run; each round starts from no containers. Prints a markdown table and writes JSON to bench/results/.
// Run as root with a Docker engine, after `npm run build`: `node bench/fill.mjs` (SLOTS=16, ROUNDS=3).
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { buildSlotImage } from '../test/dist/support/slot-image.js';
import { removeFactoryContainers, slotContainers } from '../test/dist/support/factory-process.js';

const run = promisify(execFile);
const slots = Number(process.env.SLOTS ?? 16);
const rounds = Number(process.env.ROUNDS ?? 3);
const factoryName = 'dcvm-bench-fill';
const baselineLabel = 'org.docker-cernvm.bench=fill';
const factoryBin = new URL('../packages/factory/dist/cli/bin.js', import.meta.url).pathname;

const image = await buildSlotImage();
const tmp = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-bench-'));
const tokenFile = path.join(tmp, 'pool.token');
await writeFile(tokenFile, 'bench\n', { mode: 0o600 });

async function removeBaseline() {
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=${baselineLabel}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length) await run('docker', ['rm', '-f', ...ids]);
}

/** `docker run -d` ×N, 8 at a time; each returns once its container has started. */
async function baselineFill() {
  const started = performance.now();
  const script = `seq 0 ${slots - 1} | xargs -P 8 -I{} docker run -d --network host --init --memory 64m --label ${baselineLabel} --name dcvm-bench-base-{} ${image} >/dev/null`;
  await run('bash', ['-c', script]);
  return performance.now() - started;
}

/** The factory from process start until the engine shows N running slots (it reports each change on stderr). */
async function factoryFill() {
  const started = performance.now();
  const child = spawn(process.execPath, [factoryBin, 'start', '--name', factoryName, '--slots', String(slots), '--image', image,
    '--slot-command', 'image', '--token-file', tokenFile, '--state-dir', path.join(tmp, 'state'), '--no-pin', '--memory-mb', '64',
    '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let elapsed;
  await new Promise((resolve, reject) => {
    let buffer = '';
    child.stderr.on('data', (chunk) => {
      buffer += chunk;
      for (const line of buffer.split('\n').slice(0, -1)) {
        const event = line.startsWith('{') ? JSON.parse(line) : undefined;
        if (elapsed === undefined && event?.event === 'progress' && event.running === slots) {
          elapsed = performance.now() - started;
          resolve();
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    child.on('exit', (code) => (elapsed === undefined ? reject(new Error(`factory exited with ${code}`)) : resolve()));
  });
  const running = (await slotContainers(factoryName)).filter((c) => c.state === 'running').length;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  if (running !== slots) throw new Error(`the factory said ${slots} running, the engine shows ${running}`);
  return elapsed;
}

const samples = { factory: [], baseline: [] };
try {
  await removeBaseline();
  await removeFactoryContainers(factoryName);
  for (let round = 0; round < rounds; round += 1) {
    // Alternate which goes first, so neither always meets a warmer engine.
    const order = round % 2 === 0 ? ['factory', 'baseline'] : ['baseline', 'factory'];
    for (const which of order) {
      samples[which].push(which === 'factory' ? await factoryFill() : await baselineFill());
      await removeBaseline();
      await removeFactoryContainers(factoryName);
    }
  }
} finally {
  await removeBaseline();
  await removeFactoryContainers(factoryName);
  await rm(tmp, { recursive: true, force: true });
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const result = {
  slots,
  rounds,
  factoryMs: samples.factory,
  baselineMs: samples.baseline,
  factoryMedianMs: median(samples.factory),
  baselineMedianMs: median(samples.baseline),
  ratio: median(samples.factory) / median(samples.baseline),
  target: 'factory / baseline ≤ 1.0',
};
console.log(`| fill N = ${slots} | factory (median of ${rounds}) | docker run -d, 8 in parallel | ratio | target |`);
console.log('| --- | --- | --- | --- | --- |');
console.log(`| time until ${slots} run | ${(result.factoryMedianMs / 1000).toFixed(2)} s | ${(result.baselineMedianMs / 1000).toFixed(2)} s | ${result.ratio.toFixed(2)}× | ≤ 1.0 |`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL(`./results/fill-${slots}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
