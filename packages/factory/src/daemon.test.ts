import { fakeMounter } from './testing/fake-mounter.js';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, connect, createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { CliContext } from './cli/context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from './cli/main.js';
import { sendControlRequest } from './control-server.js';
import { FactoryError } from './errors.js';
import type { FactoryStatus } from './status-report.js';
import type { PlaceholderStatus } from '@docker-cernvm/mounter';
import { FakeClock } from './testing/fake-clock.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { FakeSignals, versionIn } from '@docker-cernvm/cli-kit/testing';
import { parsePrometheus, sampleValue } from './testing/prometheus.js';
import { FakeMountHost } from './testing/fake-mount-host.js';

// The daemon end to end, through runCli, with the fake engine. Unit tests never touch /run or a fixed port: each
// test gets its own socket in a temp dir, and HTTP is off or on 127.0.0.1 port 0.
const tmp = await mkdtemp(path.join(tmpdir(), 'factory-daemon-'));
const TOKEN_TEXT = 'eyJhbGciOiJIUzI1NiJ9.daemon-test-token.sig';
const token = path.join(tmp, 'pool.token');
await writeFile(token, `${TOKEN_TEXT}\n`, { mode: 0o600 });
afterAll(() => rm(tmp, { recursive: true, force: true }));

type Status = FactoryStatus;

let clock: FakeClock;
let runtime: FakeRuntime;
let signals: FakeSignals;
let err: string;
let out: string;
let exitNow: number[];
let context: CliContext;
let mountHost: FakeMountHost;
let socketPath: string;
let counter = 0;

beforeEach(() => {
  mountHost = new FakeMountHost();
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  runtime.engineFacts = { ...runtime.engineFacts, cpus: 2 };
  signals = new FakeSignals();
  err = '';
  out = '';
  exitNow = [];
  socketPath = path.join(tmp, `run-${++counter}`, 'f.sock');
  context = {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTerminal: false },
    env: {},
    runtime: () => runtime,
    mounter: () => fakeMounter(),
    mountHost: () => mountHost,
    clock,
    signals,
    exitNow: (code) => void exitNow.push(code),
  };
});

const start = (...args: string[]) => [
  'start',
  '--token-file',
  token,
  '--state-dir',
  path.join(tmp, 'state'),
  '--scratch-dir',
  path.join(tmp, 'scratch'),
  '--log-format',
  'json',
  '--socket',
  socketPath,
  '--listen',
  'none',
  ...args,
];

type LogLine = { event: string; level: string } & Record<string, unknown>;
const logs = (): LogLine[] =>
  err
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
const logged = (event: string) => logs().filter((l) => l.event === event);

/** Polls in real time (the socket and slot directories are real) until `check` holds. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}; logs: ${err}`);
}

/** Moves the fake clock on in small steps, with real time between (sockets, files), until `check` holds. */
async function advanceUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await clock.advance(25);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}; logs: ${err}`);
}

/** Runs `start` until `n` pilots run and the socket answers; `exit` is the exit code to come (wrapped: an async
 * function returning a promise would wait for it). */
async function started(args: string[], n: number): Promise<{ exit: Promise<number> }> {
  const exit = runCli(args, context);
  let ended = false;
  void exit.then(() => (ended = true));
  await waitFor(
    () => ended || (runtime.running().length === n && logged('factory-starting').length === 1),
    `${n} running pilots`,
  );
  expect(ended).toBe(false);
  return { exit };
}

const status = () => sendControlRequest(socketPath, { command: 'status' }) as Promise<Status>;

async function stopFactory(exit: Promise<number>): Promise<void> {
  signals.emit('SIGTERM');
  expect(await exit).toBe(EXIT_OK);
  expect(signals.listenerCount).toBe(0);
  expect(clock.pending).toBe(0);
  await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
}

async function refusal(promise: Promise<unknown>): Promise<FactoryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FactoryError);
  return error as FactoryError;
}

describe('runDaemon: start', () => {
  it.each([
    ['pinned', [], ['list', 'facts']],
    // Nothing waits on the engine's facts then: /info is the slowest answer of a start, and is not asked for.
    ['not pinned', ['--no-pin'], ['list']],
  ])(
    'asks for the first pass’s list with the checks, not after them: one list before the first create (%s)',
    async (_name, args, asked) => {
      const { exit } = await started(start('--slots', '2', ...args), 2);
      const beforeCreate = runtime.calls.slice(
        0,
        runtime.calls.findIndex((call) => call.startsWith('create:')),
      );
      expect(beforeCreate.filter((call) => call === 'list' || call === 'facts')).toEqual(asked);
      await stopFactory(exit);
    },
  );

  it('says its version in the start line', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    expect(logged('factory-starting')[0]).toMatchObject({
      version: await versionIn(new URL('../package.json', import.meta.url)),
    });
    await stopFactory(exit);
  });
});

describe('runDaemon: the control socket', () => {
  it('answers status with the slots, the template and the counts', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2'), 2);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(socketPath))).mode & 0o777).toBe(0o700);
    // The pass after the creates counts them as running.
    await advanceUntil(async () => (await status()).summary?.running === 2, 'status to show 2 running');
    const answer = await status();
    expect(answer).toMatchObject({
      host: hostname(),
      name: 'docker-cernvm',
      version: await versionIn(new URL('../package.json', import.meta.url)),
      draining: false,
      summary: { desired: 2, running: 2, starting: 0, draining: 0, stopping: 0, backoff: 0, factoryDraining: false },
      template: { image: 'cernvm:4' },
    });
    expect(answer.template.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(answer.slots.map((s) => [s.slot, s.id, s.phase])).toEqual(
      [...runtime.runningBySlot()].sort(([a], [b]) => a - b).map(([slot, c]) => [slot, c.id.slice(0, 12), 'running']),
    );
    expect(JSON.stringify(answer)).not.toContain(TOKEN_TEXT);
    expect(new Set(logged('control-request').map((l) => l.command))).toEqual(new Set(['status']));
    await stopFactory(exit);
  });

  it('scales up and down on request', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    const up = (await sendControlRequest(socketPath, { command: 'scale', slots: 3 })) as Status;
    expect(up.summary).toBeDefined();
    await advanceUntil(() => runtime.running().length === 3, '3 pilots');
    await advanceUntil(async () => (await status()).summary?.running === 3, 'status to show 3');
    expect((await status()).summary?.desired).toBe(3);

    const victims = [1, 2].map((slot) => `signal:${runtime.runningBySlot().get(slot)!.id}:SIGUSR1`);
    await sendControlRequest(socketPath, { command: 'scale', slots: 1 });
    await advanceUntil(() => runtime.callsOf('signal:').length === 2, 'two drains');
    expect(runtime.callsOf('signal:').sort()).toEqual(victims.sort());
    expect(runtime.callsOf('stop:')).toEqual([]);
    expect(
      logged('control-request')
        .filter((l) => l.command === 'scale')
        .map((l) => l.slots),
    ).toEqual([3, 1]);
    await stopFactory(exit);
  });

  it('stops the victims at once on scale with force', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2', '--stop-timeout-seconds', '9'), 2);
    const victim = runtime.runningBySlot().get(1)!.id;
    await sendControlRequest(socketPath, { command: 'scale', slots: 1, force: true });
    await advanceUntil(() => runtime.callsOf('stop:').length === 1, 'the stop');
    expect(runtime.callsOf('stop:')).toEqual([`stop:${victim}:9`]);
    expect(runtime.callsOf('signal:')).toEqual([]);
    await advanceUntil(() => !runtime.containers.has(victim), 'the victim removed');
    expect(logged('slot-exited')).toEqual([expect.objectContaining({ slot: 1, reason: 'drained' })]);
    await stopFactory(exit);
  });

  it('drains and resumes on request', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2'), 2);
    const drained = (await sendControlRequest(socketPath, { command: 'drain' })) as Status;
    expect(drained.draining).toBe(true);
    await advanceUntil(() => runtime.callsOf('signal:').length === 2, 'the drains');
    for (const c of runtime.running()) runtime.exit(c.id, 0);
    await advanceUntil(() => logged('factory-drained').length === 1, 'drained');
    expect(runtime.containers.size).toBe(0);
    expect((await status()).summary).toMatchObject({ running: 0, factoryDraining: true });

    const resumed = (await sendControlRequest(socketPath, { command: 'resume' })) as Status;
    expect(resumed.draining).toBe(false);
    await advanceUntil(() => runtime.running().length === 2, 'filled again');
    await stopFactory(exit);
  });

  it('refuses a scale beyond the pinned cores, naming them, and changes nothing', async () => {
    const { exit } = await started(start('--slots', '1'), 1);
    const error = await refusal(sendControlRequest(socketPath, { command: 'scale', slots: 3 }));
    expect(error.code).toBe('E_PIN_OVERCOMMIT');
    expect(error.message).toBe(
      '3 slots × 1 core(s) need 3 pinned cores, but this host has 2: run fewer slots or pass --no-pin',
    );
    await clock.advance(1000);
    expect((await status()).summary?.desired).toBe(1);
    expect(runtime.callsOf('create:')).toHaveLength(1);
    // The command-line client says the same, in one line.
    expect(await runCli(['scale', '3', '--socket', socketPath], context)).toBe(EXIT_USAGE);
    expect(err.trim().split('\n').at(-1)).toBe(
      'error: 3 slots × 1 core(s) need 3 pinned cores, but this host has 2: run fewer slots or pass --no-pin',
    );
    // Within the cores is fine.
    await sendControlRequest(socketPath, { command: 'scale', slots: 2 });
    await advanceUntil(() => runtime.running().length === 2, 'the second pinned slot');
    await stopFactory(exit);
  });

  it('refuses malformed, oversized and unknown requests without acting or logging them as requests', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    const raw = (text: string) =>
      new Promise<{ ok: boolean; error?: string }>((resolve, reject) => {
        const socket = connect(socketPath);
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
        socket.on('end', () => resolve(JSON.parse(answer) as { ok: boolean; error?: string }));
        socket.on('error', reject);
        socket.on('connect', () => socket.end(text));
      });
    for (const text of [
      '{"command":"scale","slots":5',
      '{"command":"format-disk"}\n',
      `{"command":"drain","pad":"${'x'.repeat(5000)}"}\n`,
      '{"command":"drain","x":1}\n',
    ]) {
      expect(await raw(text)).toMatchObject({ ok: false });
    }
    await clock.advance(1000);
    expect(logged('control-request')).toEqual([]);
    expect(runtime.callsOf('signal:')).toEqual([]);
    expect(runtime.callsOf('create:')).toHaveLength(1);
    await stopFactory(exit);
  });

  it('the CLI status command prints it for people', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2'), 2);
    await advanceUntil(async () => (await status()).summary?.running === 2, 'two running');
    expect(await runCli(['status', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(out).toMatch(
      /^factory docker-cernvm on [^:\n]+: 2\/2 running\nimage cernvm:4, template [0-9a-f]{12}\nstarting 0, draining 0, stopping 0, backoff 0, claimed 0, idle 0, unhealthy 0\n {2}slot 0 {2}[0-9a-f]{12} {2}running {2}-\n {2}slot 1 {2}[0-9a-f]{12} {2}running {2}-\n$/,
    );
    await stopFactory(exit);
  });

  it('refuses to start a second factory on a socket that answers, and leaves the first alone', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    const before = err.length;
    expect(await runCli(start('--no-pin', '--slots', '1'), context)).toBe(EXIT_FAILURE);
    expect(err.slice(before).trim().split('\n').at(-1)).toBe(
      `error: a factory already answers on ${socketPath}: stop it first or use another --name`,
    );
    expect((await status()).summary?.desired).toBe(1);
    expect(runtime.callsOf('create:')).toHaveLength(1);
    await stopFactory(exit);
  });

  it('says no factory is running once it has stopped', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    await stopFactory(exit);
    expect(await runCli(['status', '--socket', socketPath], context)).toBe(EXIT_FAILURE);
    expect(err.trim().split('\n').at(-1)).toBe(`error: no factory is running: nothing answers on ${socketPath}`);
  });
});

describe('runDaemon: signals', () => {
  it('reloads a changed config file on SIGHUP: the new slot count', async () => {
    const config = path.join(tmp, `reload-${counter}.yaml`);
    await writeFile(config, 'slots: 1\n');
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    await writeFile(config, 'slots: 3\n');
    signals.emit('SIGHUP');
    await advanceUntil(() => runtime.running().length === 3, '3 pilots');
    expect(logged('factory-reloaded')).toEqual([expect.objectContaining({ slots: 3 })]);
    expect((await status()).summary?.desired).toBe(3);
    expect(runtime.callsOf('signal:')).toEqual([]); // the template did not change: nobody drained
    await stopFactory(exit);
  });

  it('rolls the pilots over when a reload changes the template', async () => {
    const config = path.join(tmp, `template-${counter}.yaml`);
    await writeFile(config, 'slots: 1\nmemoryMb: 2048\n');
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    const hash = (await status()).template.hash;
    await writeFile(config, 'slots: 1\nmemoryMb: 4096\n');
    expect(((await sendControlRequest(socketPath, { command: 'reload' })) as Status).template.hash).not.toBe(hash);
    await advanceUntil(() => runtime.callsOf('signal:').length === 1, 'the old pilot drained');
    expect(logged('slot-draining')).toEqual([expect.objectContaining({ reason: 'template' })]);
    await stopFactory(exit);
  });

  it('keeps the snapshot it followed through a reload that leaves the image alone, and follows on from a new one', async () => {
    const published = ['cernvm-system-4.7.1.0'];
    // cernvm:4 stands for 4.7.1.0; a followed tag is named after its snapshot, as the follower mounts it.
    const placeholderFor = (tag: string): PlaceholderStatus => {
      const snapshot = tag === 'cernvm:4' ? 'cernvm-system-4.7.1.0' : tag.slice(tag.indexOf(':') + 1);
      return {
        imageId: `sha256:${snapshot}`,
        tags: [tag],
        pair: { repository: 'cernvm-prod.cern.ch', snapshot },
        layerDir: '/layer',
        bound: { source: '/cvmfs', readOnly: true, deleted: false },
        version: snapshot,
        containers: [],
      };
    };
    context.mounter = () => ({
      ...fakeMounter(),
      describeImage: async (tag) => ({ kind: 'placeholder', placeholder: placeholderFor(tag) }),
      inspectPlaceholder: async (tag) => placeholderFor(tag),
      snapshots: async (repository) => ({ repository, repositoryDir: '/r', available: published, mounted: [] }),
      mount: async ({ tag, snapshot }) => ({
        ...placeholderFor(tag),
        tag,
        rootDir: '/r',
        action: 'mounted',
        version: snapshot,
      }),
    });
    const config = path.join(tmp, `follow-${counter}.yaml`);
    const follow = 'followSnapshot: true\nfollowIntervalSeconds: 1\n';
    await writeFile(config, `slots: 1\nimage: cernvm:4\n${follow}`);
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    published.push('cernvm-system-4.8.0.0');
    await advanceUntil(() => logged('snapshot-followed').length === 1, 'the newer snapshot followed');
    const followed = (await status()).template.hash;

    await writeFile(config, `slots: 2\nimage: cernvm:4\n${follow}`);
    const reloaded = (await sendControlRequest(socketPath, { command: 'reload' })) as Status;
    expect(reloaded.template).toMatchObject({ hash: followed, image: 'cernvm:cernvm-system-4.8.0.0' });

    // A new image in the file wins, and the follower goes on from it.
    await writeFile(config, `slots: 2\nimage: cernvm:cernvm-system-4.7.1.0\n${follow}`);
    expect(((await sendControlRequest(socketPath, { command: 'reload' })) as Status).template.image).toBe(
      'cernvm:cernvm-system-4.7.1.0',
    );
    await advanceUntil(() => logged('snapshot-followed').length === 2, 'the newer snapshot followed again');
    expect((await status()).template.hash).toBe(followed);
    await stopFactory(exit);
  });

  it.each<[string, string, RegExp]>([
    ['broken YAML', 'slots: [1\n', /: not valid YAML/],
    ['an unknown key', 'slots: 1\nbogus: 2\n', /: unknown key "bogus"$/],
    ['a wrong type', 'slots: many\n', /: slots: expected a whole number of slots$/],
    ['a missing image', 'slots: 1\nimage: site/nothing:1\n', /^no image site\/nothing:1/],
  ])('refuses a reload with %s: logs reload-refused and changes nothing', async (_name, text, message) => {
    const config = path.join(tmp, `broken-${counter}.yaml`);
    await writeFile(config, 'slots: 1\n');
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    const hash = (await status()).template.hash;
    await writeFile(config, text);
    signals.emit('SIGHUP');
    await waitFor(() => logged('reload-refused').length === 1, 'reload-refused');
    const [line] = logged('reload-refused');
    expect(line!.level).toBe('error');
    expect(String(line!.error)).toMatch(message);
    if (!text.includes('image:')) expect(String(line!.error)).toContain(config);
    expect(String(line!.error)).not.toContain('\n');
    await clock.advance(1000);
    const after = await status();
    expect(after.summary?.desired).toBe(1);
    expect(after.template.hash).toBe(hash);
    expect(runtime.callsOf('create:')).toHaveLength(1);
    expect(runtime.callsOf('signal:')).toEqual([]);
    expect(logged('factory-reloaded')).toEqual([]);
    await stopFactory(exit);
  });

  it('rolls the pilots over when a reload adds a mount, job environment or snippet, each slot then binding the mount', async () => {
    mountHost.existing.add('/cvmfs/alice.cern.ch');
    const config = path.join(tmp, `mounts-${counter}.yaml`);
    await writeFile(config, 'slots: 1\n');
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    let hash = (await status()).template.hash;
    for (const more of [
      'mounts:\n  - source: /cvmfs/alice.cern.ch\n',
      'pilot:\n  jobEnvironment: { VO_SITE: T2 }\n',
      'pilot:\n  siteSnippets: [{ name: site, content: "X = 1" }]\n',
    ]) {
      await writeFile(config, `slots: 1\n${more}`);
      const next = ((await sendControlRequest(socketPath, { command: 'reload' })) as Status).template.hash;
      expect(next).not.toBe(hash);
      hash = next;
    }
    await writeFile(config, 'slots: 1\nmounts:\n  - source: /cvmfs/alice.cern.ch\n');
    hash = ((await sendControlRequest(socketPath, { command: 'reload' })) as Status).template.hash;
    const first = runtime.running()[0]!;
    runtime.exit(first.id, 0);
    await advanceUntil(
      () => runtime.running().some((c) => c.labels['org.docker-cernvm.template-hash'] === hash),
      'a pilot on the new template',
    );
    const fresh = runtime.running().find((c) => c.labels['org.docker-cernvm.template-hash'] === hash)!;
    expect(fresh.options.HostConfig?.Mounts).toContainEqual({
      Type: 'bind',
      Source: '/cvmfs/alice.cern.ch',
      Target: '/cvmfs/alice.cern.ch',
      ReadOnly: true,
      BindOptions: { Propagation: 'rslave' },
    });
    expect(fresh.options.HostConfig?.Binds).toContain(
      `${path.join(tmp, 'scratch', 'docker-cernvm', 'slot-0')}:/scratch`,
    );
    await stopFactory(exit);
  });

  it('refuses a reload whose mount source does not exist, naming it, and changes nothing', async () => {
    const config = path.join(tmp, `missing-mount-${counter}.yaml`);
    await writeFile(config, 'slots: 1\n');
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    const hash = (await status()).template.hash;
    await writeFile(config, 'slots: 1\nmounts:\n  - source: /cvmfs/sft.cern.ch\n');
    signals.emit('SIGHUP');
    await waitFor(() => logged('reload-refused').length === 1, 'reload-refused');
    expect(logged('reload-refused')[0]!.error).toBe(
      'mounts.0.source /cvmfs/sft.cern.ch: does not exist on this host (create it or mount it first)',
    );
    expect((await status()).template.hash).toBe(hash);
    await stopFactory(exit);
  });

  it('refuses a reload that pins more slots than cores', async () => {
    const config = path.join(tmp, `pinned-${counter}.yaml`);
    await writeFile(config, 'slots: 1\n');
    const { exit } = await started(start('--config', config), 1);
    await writeFile(config, 'slots: 3\n');
    signals.emit('SIGHUP');
    await waitFor(() => logged('reload-refused').length === 1, 'reload-refused');
    expect(logged('reload-refused')[0]!.error).toBe(
      '3 slots × 1 core(s) need 3 pinned cores, but this host has 2: run fewer slots or pass --no-pin',
    );
    await clock.advance(1000);
    expect((await status()).summary?.desired).toBe(1);
    // Through the socket, the same refusal is the answer.
    const error = await refusal(sendControlRequest(socketPath, { command: 'reload' }));
    expect(error.message).toMatch(/need 3 pinned cores/);
    await stopFactory(exit);
  });

  it('warns that a reload cannot move the factory (name, socket, listen…) and keeps them', async () => {
    const config = path.join(tmp, `moved-${counter}.yaml`);
    await writeFile(config, 'slots: 1\n');
    const { exit } = await started(start('--no-pin', '--config', config), 1);
    await writeFile(config, 'slots: 2\nname: other\nconcurrency: 2\n');
    signals.emit('SIGHUP');
    await waitFor(() => logged('factory-reloaded').length === 1, 'the reload');
    expect(
      logged('reload-ignored')
        .map((l) => l.key)
        .sort(),
    ).toEqual(['concurrency', 'name']);
    expect((await status()).name).toBe('docker-cernvm');
    await advanceUntil(() => runtime.running().length === 2, '2 pilots');
    expect(runtime.callsOf('create:').every((call) => call.startsWith('create:docker-cernvm-slot-'))).toBe(true);
    await stopFactory(exit);
  });

  it('gives a SIGUSR1 drain the configured deadline, and drain --deadline its own, written in each slot directory', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2', '--drain-deadline-seconds', '600'), 2);
    const fileOf = (slot: number) => path.join(tmp, 'state', 'docker-cernvm', `slot-${slot}`, 'deadline.conf');
    const signalledAt = clock.now();
    signals.emit('SIGUSR1');
    await advanceUntil(() => runtime.callsOf('signal:').length === 2, 'the drains');
    const configured = `CernvmDeadline = ${Math.round(signalledAt / 1000) + 600}\n`;
    expect(await readFile(fileOf(0), 'utf8')).toBe(configured);
    expect(await readFile(fileOf(1), 'utf8')).toBe(configured);
    expect(logged('factory-draining')[0]?.deadline).toBe(new Date(signalledAt + 600_000).toISOString());

    const askedAt = clock.now();
    await sendControlRequest(socketPath, { command: 'drain', deadlineSeconds: 60 });
    const earlier = `CernvmDeadline = ${Math.round(askedAt / 1000) + 60}\n`;
    await advanceUntil(async () => (await readFile(fileOf(1), 'utf8')) === earlier, 'the deadline brought forward');
    expect(await readFile(fileOf(0), 'utf8')).toBe(earlier);
    expect(runtime.callsOf('signal:')).toHaveLength(2);
    await stopFactory(exit);
  });

  it('with --exit-when-drained, SIGUSR1 drains and the factory ends with 0 once the last pilot is gone', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2', '--exit-when-drained'), 2);
    let ended = false;
    void exit.then(() => (ended = true));
    signals.emit('SIGUSR1');
    await advanceUntil(() => runtime.callsOf('signal:').length === 2, 'the drains');
    const [first, second] = runtime.running();
    runtime.exit(first!.id, 0);
    await advanceUntil(() => !runtime.containers.has(first!.id), 'the first removed');
    expect(ended).toBe(false);
    runtime.exit(second!.id, 0);
    await advanceUntil(() => ended, 'the factory to end');
    expect(await exit).toBe(EXIT_OK);
    expect(runtime.containers.size).toBe(0);
    expect(runtime.callsOf('create:')).toHaveLength(2);
    expect(logs().map((l) => l.event)).toEqual(
      expect.arrayContaining(['factory-draining', 'factory-drained', 'factory-stopping', 'factory-stopped']),
    );
    expect(logs().at(-1)?.event).toBe('factory-stopped');
    expect(signals.listenerCount).toBe(0);
    expect(clock.pending).toBe(0);
    expect(exitNow).toEqual([]);
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('without --exit-when-drained, keeps running once drained', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    let ended = false;
    void exit.then(() => (ended = true));
    signals.emit('SIGUSR1');
    await advanceUntil(() => runtime.callsOf('signal:').length === 1, 'the drain');
    runtime.exit(runtime.running()[0]!.id, 0);
    await advanceUntil(() => logged('factory-drained').length === 1, 'drained');
    await clock.advance(60_000);
    expect(ended).toBe(false);
    expect((await status()).draining).toBe(true);
    await stopFactory(exit);
  });
});

describe('runDaemon: HTTP', () => {
  /** The address the factory says it serves HTTP on. */
  const httpBase = () => `http://${String(logged('factory-starting')[0]!.http)}`;

  it('serves /metrics, /healthz and /status on 127.0.0.1, port 0 taking a free port', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2', '--listen', '127.0.0.1:0'), 2);
    expect(httpBase()).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    await advanceUntil(
      async () =>
        sampleValue(parsePrometheus(await (await fetch(`${httpBase()}/metrics`)).text()), 'cernvm_factory_slots', {
          state: 'running',
        }) === 2,
      'metrics',
    );
    const text = await (await fetch(`${httpBase()}/metrics`)).text();
    const samples = parsePrometheus(text);
    expect(sampleValue(samples, 'cernvm_factory_desired_slots')).toBe(2);
    expect(sampleValue(samples, 'cernvm_factory_container_starts_total')).toBe(2);
    expect(sampleValue(samples, 'cernvm_factory_events_stream_connected')).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_snapshot_info', { image: 'cernvm:4' })).toBe(1);
    expect(text).not.toContain(TOKEN_TEXT);
    expect(text).not.toContain(token);
    for (const c of runtime.containers.values()) expect(text).not.toContain(c.id.slice(0, 12));

    const health = await fetch(`${httpBase()}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const body = (await (await fetch(`${httpBase()}/status`)).json()) as Status;
    expect(body).toMatchObject({ name: 'docker-cernvm', summary: { desired: 2 } });
    expect(body.slots).toHaveLength(2);
    expect((await fetch(`${httpBase()}/status`, { method: 'POST', body: '{"command":"drain"}' })).status).toBe(405);
    expect((await status()).draining).toBe(false);
    await stopFactory(exit);
    await expect(fetch(`${httpBase()}/healthz`)).rejects.toThrow();
  });

  it('answers /healthz 503 while the events stream is down, and while no pass has finished lately', async () => {
    const { exit } = await started(
      start('--no-pin', '--slots', '1', '--listen', '127.0.0.1:0', '--resync-seconds', '10'),
      1,
    );
    for (const stream of runtime.eventStreams) stream.end();
    // The reconnect waits on the fake clock: until it is moved, the stream stays down.
    await waitFor(async () => (await fetch(`${httpBase()}/healthz`)).status === 503, '503');
    expect(await (await fetch(`${httpBase()}/healthz`)).text()).toBe('the Docker events stream is not connected\n');
    await advanceUntil(async () => (await fetch(`${httpBase()}/healthz`)).status === 200, 'reconnected');

    // A pass stuck on the engine: after twice the resync and 5 s, the factory is not healthy.
    const release = runtime.holdList();
    await clock.advance(10_000);
    await clock.advance(25_001);
    const stuck = await fetch(`${httpBase()}/healthz`);
    expect(stuck.status).toBe(503);
    expect(await stuck.text()).toBe('no reconcile pass recently\n');
    release();
    await advanceUntil(async () => (await fetch(`${httpBase()}/healthz`)).status === 200, 'healthy again');
    await stopFactory(exit);
  });

  it('refuses a --listen address it cannot take with exit 2, and leaves no socket behind', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      expect(await runCli(start('--no-pin', '--slots', '1', '--listen', `127.0.0.1:${port}`), context)).toBe(
        EXIT_USAGE,
      );
      expect(err.trim().split('\n').at(-1)).toMatch(
        new RegExp(`^error: --listen 127\\.0\\.0\\.1:${port}: cannot listen there \\(.*EADDRINUSE.*\\)$`),
      );
      await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(runtime.callsOf('create:')).toEqual([]);
      expect(signals.listenerCount).toBe(0);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
