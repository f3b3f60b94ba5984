// What the factory benchmarks share: a factory process whose JSON log lines can be awaited, the engine's view of
// its slots, resource samples from /proc, percentiles, and the markdown + JSON output. Run after `npm run build`.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LABELS, sendControlRequest } from '@docker-cernvm/factory';
import { DEFAULT_PIDS_LIMIT, SLOT_CAPABILITIES } from '@docker-cernvm/pilot';
import Dockerode from 'dockerode';
import { buildSlotImage } from './slot-image.mjs';

export const run = promisify(execFile);
export const docker = new Dockerode();
/**
 * An engine a benchmark talks to: its Dockerode client, the environment that points the CLI and the factory at it,
 * and what `docker run` needs there beyond the benchmark's own settings.
 */
export const HOST_ENGINE = { name: 'docker', client: docker, env: {}, runArgs: [] };

/** The command as the factory package installs it (its `bin`), run by this node. */
const FACTORY_DIR = fileURLToPath(new URL('../packages/factory/', import.meta.url));
const FACTORY_BIN = path.join(
  FACTORY_DIR,
  JSON.parse(readFileSync(path.join(FACTORY_DIR, 'package.json'), 'utf8')).bin['docker-cernvm-factory'],
);

/** A factory's containers as the engine (`engine`, a Dockerode client) lists them, by slot. */
export async function slotContainers(factory, engine = docker) {
  const list = await engine.listContainers({ all: true, filters: { label: [`${LABELS.factory}=${factory}`] } });
  return list
    .map((c) => ({ id: c.Id, slot: Number(c.Labels[LABELS.slot]), state: c.State, created: c.Created }))
    .sort((a, b) => a.slot - b.slot);
}

export async function removeFactoryContainers(factory, engine = docker) {
  for (const c of await slotContainers(factory, engine))
    await engine
      .getContainer(c.id)
      .remove({ force: true })
      .catch(() => undefined);
}

/** A scratch directory with a stand-in token (the slot image never reads it) and the slot image built. */
export async function prepareBench(name) {
  const image = await buildSlotImage(docker);
  const dir = await mkdtemp(path.join(tmpdir(), `docker-cernvm-bench-${name}-`));
  const tokenFile = path.join(dir, 'pool.token');
  await writeFile(tokenFile, 'bench\n', { mode: 0o600 });
  return { image, dir, tokenFile, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The `docker run` options that make the factory's slot `i` of the stand-in (packages/pilot's container-spec.ts)
 * through the CLI: host network, an init, 64 MB without swap, /pilot read-only but for its status directory, the
 * token read-only, a scratch directory, every capability dropped but the slot's, no new privileges, a process limit.
 * `i` may be xargs' `{}`; makeSlotDirs makes the directories.
 */
export function slotRunArgs(bench, i) {
  return [
    ...['--network', 'host', '--init', '--memory', '64m', '--memory-swap', '64m'],
    ...slotBinds(bench, i).flatMap((bind) => ['-v', bind]),
    ...['--cap-drop', 'ALL', ...SLOT_CAPABILITIES.flatMap((cap) => ['--cap-add', cap])],
    ...['--security-opt', 'no-new-privileges', '--pids-limit', String(DEFAULT_PIDS_LIMIT)],
  ];
}

/** The binds of the factory's slot `i` of the stand-in, as `docker run -v` takes them. */
export function slotBinds(bench, i) {
  const pilot = `${bench.dir}/run/pilot-${i}`;
  return [
    `${pilot}:/pilot:ro`,
    `${pilot}/status:/pilot/status`,
    `${bench.tokenFile}:/pilot/tokens.d/pool.token:ro`,
    `${bench.dir}/run/scratch-${i}:/scratch`,
  ];
}

/**
 * The directories slotBinds names, for slots 0 to n - 1, and the token's mount point in each /pilot: read-only there,
 * it must exist before the engine binds the token onto it.
 */
export async function makeSlotDirs(bench, n) {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const pilot = `${bench.dir}/run/pilot-${i}`;
      await mkdir(`${pilot}/tokens.d`, { recursive: true });
      await mkdir(`${pilot}/status`, { recursive: true });
      await mkdir(`${bench.dir}/run/scratch-${i}`, { recursive: true });
      await writeFile(`${pilot}/tokens.d/pool.token`, '');
    }),
  );
}

/** The slots of most benchmarks: the stand-in slot image running its own command, unpinned, 64 MB. */
export function standInSlotArgs(bench) {
  return [
    ...['--image', bench.image, '--slot-command', 'image', '--token-file', bench.tokenFile],
    ...['--no-pin', '--memory-mb', '64'],
  ];
}

/**
 * `docker-cernvm-factory start` as a child process, JSON logs on stderr. `until(predicate)` resolves with the first
 * log line (already seen or still to come) that satisfies it, and the time since the process was spawned. `engine`
 * (a Dockerode client, the host's Docker by default) is where `stop` removes its slots; `env.DOCKER_HOST` points the
 * factory at the same engine.
 */
export class BenchFactory {
  constructor(bench, { name, slots, slotArgs = standInSlotArgs(bench), extra = [], env = {}, engine = docker }) {
    this.name = name;
    this.engine = engine;
    this.socket = path.join(bench.dir, `${name}.sock`);
    this.startedAt = performance.now();
    this.lines = [];
    this.waiters = [];
    this.child = spawn(
      process.execPath,
      [
        FACTORY_BIN,
        'start',
        '--name',
        name,
        '--slots',
        String(slots),
        ...slotArgs,
        '--state-dir',
        path.join(bench.dir, 'state'),
        '--socket',
        this.socket,
        '--listen',
        '127.0.0.1:0',
        '--log-format',
        'json',
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
    );
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    let buffer = '';
    this.child.stderr.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const text of lines) {
        if (!text.startsWith('{')) continue;
        const line = { ...JSON.parse(text), at: performance.now() - this.startedAt };
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => !(w.predicate(line) && (w.resolve(line), true)));
      }
    });
  }

  get pid() {
    return this.child.pid;
  }

  until(predicate, timeoutMs = 300_000) {
    const seen = this.lines.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no matching log line in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ predicate, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      this.exited.then((code) => reject(new Error(`${this.name} exited with ${code}`)));
    });
  }

  /** Resolves at the first progress line (after `since` ms, logged while filling) that shows `n` slots running. */
  running(n, since = 0) {
    return this.until((l) => l.at >= since && l.event === 'progress' && l.running === n);
  }

  async metricsUrl() {
    const line = await this.until((l) => l.event === 'factory-starting');
    return `http://${line.http}/metrics`;
  }

  request(body) {
    return sendControlRequest(this.socket, body);
  }

  async stop() {
    this.child.kill('SIGTERM');
    await this.exited;
    await removeFactoryContainers(this.name, this.engine);
  }
}

/**
 * Puts the engine's host back in the same state before a timed sample. Each removed container leaves its memory
 * cgroup behind (cgroup v1 keeps it while page cache is charged to it), and here those piled up by the hundred over a
 * run: a fill of 16 went from 0.7 s in the first round to 1.3 s by the tenth, whoever made it, which no rotation
 * evens out. Dropping the page cache lets the kernel free them (338 → 7 here); `warm` (each contender's own work
 * once, untimed: warmSlotImage, warmFactory) then reads back in what each one's timed path reads, so no contender
 * starts from disk. Needs root: without it, nothing is done and the run says so.
 */
export async function resetHostState(warm) {
  try {
    await run('sync');
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
  } catch (error) {
    if (!resetHostState.warned) console.error(`not resetting the page cache between samples: ${error.message}`);
    resetHostState.warned = true;
    return;
  }
  await warm();
}

/**
 * Runs one throwaway slot-image container through the CLI: the engine's runtime binaries, the image's files and the
 * CLI's and the engine's paths of `docker run` in the page cache.
 */
export async function warmSlotImage(bench, engine = HOST_ENGINE) {
  await run(
    'docker',
    [
      'run',
      '--rm',
      '--network',
      'host',
      '--init',
      '--memory',
      '64m',
      ...engine.runArgs,
      '--entrypoint',
      '/bin/busybox',
      bench.image,
      'true',
    ],
    { env: { ...process.env, ...engine.env } },
  );
}

/**
 * Starts a factory of one slot and stops it once the slot runs: its own path into the page cache, as warmSlotImage
 * is `docker run`'s. `--help` alone, as once here, left the parts of node a start first uses (its HTTP client, ICU's
 * time zones), the pilot's entrypoint script and the engine's list, inspect and events paths on disk: 0-14 ms of
 * each timed start, read back while the clock ran, that `docker run` never paid.
 */
export async function warmFactory(bench, engine = HOST_ENGINE) {
  const factory = new BenchFactory(bench, {
    name: 'dcvm-bench-warm',
    slots: 1,
    env: engine.env,
    engine: engine.client,
  });
  await factory.until((l) => l.event === 'slot-started');
  await factory.stop();
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
export async function processSample(pid) {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime (fields 14 and 15)
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  return { cpuSeconds: ticks / 100, rssMb: rssKb / 1024, at: performance.now() };
}

/** A Prometheus counter or gauge value, summed over its label sets. */
export async function metricValue(url, name, labels = '') {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{${labels}`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
export const median = (values) => percentile(values, 50);
export const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Prints the markdown table and writes it with the JSON to bench/results/<name>.{md,json}. */
export async function report(name, markdown, json) {
  console.log(markdown);
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(
    new URL(`${name}.json`, dir),
    `${JSON.stringify({ ...json, measuredAt: new Date().toISOString() }, null, 2)}\n`,
  );
  await writeFile(new URL(`${name}.md`, dir), `${markdown}\n`);
}

/**
 * The engine's own events for containers carrying `label`, timestamped on arrival: "N slots run" is the moment the
 * engine has started N of them, whoever asked.
 */
export class EngineEvents {
  static async open(label, engine = docker) {
    const stream = await engine.getEvents({ filters: { type: ['container'], label: [label] } });
    return new EngineEvents(stream);
  }

  constructor(stream) {
    this.stream = stream;
    this.events = [];
    this.waiters = [];
    let buffer = '';
    stream.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const text of lines.filter(Boolean)) {
        const event = JSON.parse(text);
        this.events.push({
          action: event.Action,
          id: event.Actor?.ID,
          attributes: event.Actor?.Attributes ?? {},
          at: performance.now(),
        });
        this.waiters = this.waiters.filter((w) => !(w.check() && (w.resolve(), true)));
      }
    });
  }

  count(action, since) {
    return this.events.filter((e) => e.action === action && e.at >= since).length;
  }

  /** Resolves with the time (performance.now()) of the `n`th `action` at or after `since`. */
  async nth(action, n, since, timeoutMs = 300_000) {
    const check = () => this.count(action, since) >= n;
    if (!check()) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${this.count(action, since)} of ${n} ${action} events in ${timeoutMs} ms`)),
          timeoutMs,
        );
        this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return this.events.filter((e) => e.action === action && e.at >= since)[n - 1].at;
  }

  close() {
    this.stream.destroy();
  }
}
