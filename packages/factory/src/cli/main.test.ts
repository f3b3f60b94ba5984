import { fakeMounter } from '../testing/fake-mounter.js';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PlaceholderStatus } from '@docker-cernvm/mounter';
import { LABELS } from '../labels.js';
import { placeholderStatus } from '../testing/builders.js';
import { FakeClock } from '../testing/fake-clock.js';
import { FakeRuntime, engineError } from '../testing/fake-runtime.js';
import { FakeSignals, consoleLogOf, versionIn } from '@docker-cernvm/cli-kit/testing';
import type { CliContext } from './context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from './main.js';
import { FakeMountHost } from '../testing/fake-mount-host.js';

// Made before the tables below are built. The token is 0600 and, as these tests run as root, owned by root.
const tmp = await mkdtemp(path.join(tmpdir(), 'factory-cli-'));
const token = path.join(tmp, 'pool.token');
await writeFile(token, 'eyJhbGciOiJIUzI1NiJ9.x.y\n', { mode: 0o600 });
afterAll(() => rm(tmp, { recursive: true, force: true }));

let clock: FakeClock;
let runtime: FakeRuntime;
let signals: FakeSignals;
let placeholder: PlaceholderStatus | undefined;
let out: string;
let err: string;
let exitNow: number[];
let context: CliContext;
let mountHost: FakeMountHost;

beforeEach(() => {
  mountHost = new FakeMountHost();
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  runtime.engineFacts = { ...runtime.engineFacts, cpus: 2 };
  signals = new FakeSignals();
  placeholder = undefined;
  out = '';
  err = '';
  exitNow = [];
  context = {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTerminal: false },
    env: {},
    runtime: () => runtime,
    mounter: () => fakeMounter(() => placeholder),
    mountHost: () => mountHost,
    clock,
    signals,
    exitNow: (code) => void exitNow.push(code),
  };
});

/** `start` with a token, a state directory and JSON logs; `args` add to (or, later, override) them. */
// Unit tests never touch /run or a fixed port: the socket goes in the temp dir and HTTP is off.
const isolated = () => ['--socket', path.join(tmp, 'control.sock'), '--listen', 'none'];
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
  ...isolated(),
  ...args,
];

/** Polls (in real time: slot directories are written to disk) until `check` holds. */
async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Moves the fake clock on in small steps until `check` holds. Slot directories live on disk here, and a pass reads
 * each slot's heartbeat from there, so real time has to pass too.
 */
async function advanceUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await clock.advance(25);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const logEvents = () =>
  err
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { event: string }).event);

describe('runCli: bad input', () => {
  it.each<[string, string[], RegExp]>([
    ['non-numeric --slots', start('--slots', 'abc'), /^error: --slots: expected a whole number of slots$/],
    ['negative --slots', start('--slots', '-1'), /^error: --slots: expected a whole number of slots$/],
    ['negative --slots=', start('--slots=-1'), /^error: --slots: expected a whole number of slots$/],
    ['fractional --slots', start('--slots', '1.5'), /^error: --slots: expected a whole number of slots$/],
    ['huge --slots', start('--slots', '99999'), /^error: --slots: expected a whole number of slots ≤ 4096$/],
    [
      'no --slots',
      start(),
      /^error: --slots: expected how many slots to run \(or DOCKER_CERNVM_FACTORY_SLOTS, or slots: in a --config file\)$/,
    ],
    ['--slots without a value', start('--slots'), /^error: Not enough arguments following: slots$/],
    ['an unknown flag', start('--slots', '1', '--bogus'), /^error: Unknown argument: bogus$/],
    ['an unknown command', ['frobnicate'], /^error: Unknown argument: frobnicate$/],
    ['no command', [], /^error: name a command: start, scale, drain, resume or status$/],
    [
      'a bad --memory-mb',
      start('--slots', '1', '--memory-mb', '12'),
      /^error: --memory-mb: expected whole megabytes ≥ 64$/,
    ],
    ['a bad --name', start('--slots', '1', '--name', '../x'), /^error: --name: expected lower-case letters/],
    [
      'a relative --token-file',
      start('--slots', '1', '--token-file', 'pool.token'),
      /^error: --token-file: expected an absolute path of plain names \(letters, digits, \. _ @ \+ -\)$/,
    ],
    [
      'more pinned slots than cores',
      start('--slots', '4'),
      /^error: 4 slots × 1 core\(s\) need 4 pinned cores, but this host has 2: run fewer slots or pass --no-pin$/,
    ],
    [
      'more pinned cores per slot than the host has',
      start('--slots', '2', '--cores-per-slot', '2'),
      /need 4 pinned cores.*--no-pin/,
    ],
    [
      'a missing --config file',
      start('--slots', '1', '--config', '/nonexistent/factory.yaml'),
      /^error: \/nonexistent\/factory\.yaml: cannot read it \(ENOENT\)$/,
    ],
    // Found by main.property.test.ts: `--slots.x 0` reached the config loader as an object (a TypeError, exit 1).
    ['a dotted --slots', start('--slots.x', '0'), /^error: --slots: expected one value, such as --slots VALUE$/],
    [
      'a negated string flag',
      start('--slots', '1', '--no-image'),
      /^error: --image: expected one value, such as --image VALUE$/,
    ],
    [
      'a missing mount source',
      start('--slots', '1', '--no-pin', '--mount', '/cvmfs/sft.cern.ch'),
      /^error: mounts\.0\.source \/cvmfs\/sft\.cern\.ch: does not exist on this host \(create it or mount it first\)$/,
    ],
    [
      'a malformed --mount',
      start('--slots', '1', '--mount', '/a:/b:bogus'),
      /^error: --mount: expected SOURCE\[:TARGET\]\[:ro\|rw,rslave\|rprivate\], got "\/a:\/b:bogus"$/,
    ],
    [
      'a --mount over the system',
      start('--slots', '1', '--mount', '/data:/usr'),
      /^error: --mount \/data:\/usr: target: expected a container path that does not hide the system/,
    ],
    [
      'a --mount on the scratch directory',
      start('--slots', '1', '--no-pin', '--mount', '/data:/scratch'),
      /^error: mounts\.0\.target: expected a path apart from the slot's own \/scratch/,
    ],
    [
      'a bad --scratch-dir',
      start('--slots', '1', '--scratch-dir', 'scratch'),
      /^error: --scratch-dir: expected an absolute path of plain names \(letters, digits, \. _ @ \+ -\)$/,
    ],
  ])('%s: one error line, exit 2, nothing made', async (_name, args, message) => {
    expect(await runCli(args, context)).toBe(EXIT_USAGE);
    const [line] = err.split('\n');
    expect(err).toBe(`${line}\n`);
    expect(line).toMatch(message);
    expect(out).toBe('');
    expect(runtime.callsOf('create:')).toEqual([]);
    expect(runtime.callsOf('events')).toEqual([]);
    expect(signals.listenerCount).toBe(0);
  });

  it('refuses a bad value in the environment, naming the variable', async () => {
    context = { ...context, env: { DOCKER_CERNVM_FACTORY_SLOTS: 'many' } };
    expect(await runCli(start(), context)).toBe(EXIT_USAGE);
    expect(err).toBe('error: DOCKER_CERNVM_FACTORY_SLOTS: expected a whole number of slots\n');
    expect(runtime.calls).toEqual([]); // refused before the engine is asked anything
  });

  it('refuses a bad config file, naming it and the key', async () => {
    const file = path.join(tmp, 'bad.yaml');
    await writeFile(file, 'slots: 2\npilot:\n  bogus: 1\n');
    expect(await runCli(start('--config', file), context)).toBe(EXIT_USAGE);
    expect(err).toBe(`error: ${file}: unknown key "pilot.bogus"\n`);
    expect(runtime.calls).toEqual([]);
  });

  it('refuses a mount source on a private mount with rslave, saying what to run', async () => {
    mountHost.existing.add('/srv/site');
    mountHost.privateMounts.add('/srv/site');
    expect(await runCli(start('--slots', '1', '--no-pin', '--mount', '/srv/site'), context)).toBe(EXIT_USAGE);
    expect(err).toMatch(
      /^error: mounts\.0\.source \/srv\/site: is on the private mount \/srv\/site, .*mount --make-rshared \/srv\/site.*propagation: rprivate/,
    );
    expect(runtime.callsOf('create:')).toEqual([]);
  });

  it('refuses a job variable whose name says secret, naming the file and key', async () => {
    const file = path.join(tmp, 'secret.yaml');
    await writeFile(file, 'slots: 1\npilot:\n  jobEnvironment:\n    VO_PASSWORD: hunter2\n');
    expect(await runCli(start('--config', file), context)).toBe(EXIT_USAGE);
    expect(err).toMatch(
      new RegExp(`^error: ${file}: pilot\\.jobEnvironment\\.VO_PASSWORD: expected a non-secret name`),
    );
    expect(err).not.toContain('hunter2');
  });

  it('binds the file’s mounts and then the --mount ones into every slot', async () => {
    mountHost.existing.add('/cvmfs').add('/etc/grid-security/certificates');
    const file = path.join(tmp, 'mounts.yaml');
    await writeFile(file, 'slots: 1\nmounts:\n  - source: /cvmfs\n');
    const exit = runCli(
      start(
        '--config',
        file,
        '--no-pin',
        '--mount',
        '/etc/grid-security/certificates',
        '--mount',
        '/cvmfs:/opt/cvmfs:ro,rprivate',
      ),
      context,
    );
    try {
      await advanceUntil(() => runtime.running().length === 1, 'the pilot');
      expect(
        runtime.running()[0]!.options.HostConfig?.Mounts?.map((m) => [m.Source, m.Target, m.BindOptions?.Propagation]),
      ).toEqual([
        ['/cvmfs', '/cvmfs', 'rslave'],
        ['/etc/grid-security/certificates', '/etc/grid-security/certificates', 'rslave'],
        ['/cvmfs', '/opt/cvmfs', 'rprivate'],
      ]);
      expect(runtime.running()[0]!.options.HostConfig?.Binds).toContain(
        `${path.join(tmp, 'scratch', 'docker-cernvm', 'slot-0')}:/scratch`,
      );
      const starting = err.split('\n').find((l) => l.includes('"factory-starting"'))!;
      expect(JSON.parse(starting)).toMatchObject({
        mounts: '/cvmfs:ro,/etc/grid-security/certificates:ro,/opt/cvmfs:ro',
      });
    } finally {
      signals.emit('SIGTERM');
      expect(await exit).toBe(EXIT_OK);
    }
  });

  it.each([
    ['--mount /a /b', ['--mount', '/srv/a', '/srv/b']],
    ['--mount=/a /b', ['--mount=/srv/a', '/srv/b']],
    ['--mount /a --mount /b', ['--mount', '/srv/a', '--mount', '/srv/b']],
  ])('binds every value of %s, as the parser reads it', async (_, mountArgs) => {
    mountHost.existing.add('/srv/a').add('/srv/b');
    const exit = runCli(start('--slots', '1', '--no-pin', ...mountArgs), context);
    try {
      await advanceUntil(() => runtime.running().length === 1, 'the pilot');
      expect(runtime.running()[0]!.options.HostConfig?.Mounts?.map((m) => m.Source)).toEqual(['/srv/a', '/srv/b']);
    } finally {
      signals.emit('SIGTERM');
      expect(await exit).toBe(EXIT_OK);
    }
  });

  describe('the pool token', () => {
    it('refuses one others can read', async () => {
      const open = path.join(tmp, 'open.token');
      await writeFile(open, 'secret\n');
      await chmod(open, 0o644);
      expect(await runCli(start('--slots', '1', '--no-pin', '--token-file', open), context)).toBe(EXIT_USAGE);
      expect(err).toBe(`error: the pool token ${open} has mode 644: others can read it; chmod 600 it\n`);
      expect(runtime.callsOf('create:')).toEqual([]);
    });

    it.each<[string, (file: string) => Promise<void>, RegExp]>([
      ['missing', async () => undefined, /^error: no pool token at .*missing\.token/],
      ['empty', (file) => writeFile(file, '', { mode: 0o600 }), /^error: the pool token .*empty\.token is empty\n$/],
    ])('refuses one that is %s', async (name, make, message) => {
      const file = path.join(tmp, `${name}.token`);
      await make(file);
      expect(await runCli(start('--slots', '1', '--no-pin', '--token-file', file), context)).toBe(EXIT_USAGE);
      expect(err).toMatch(message);
      expect(runtime.callsOf('create:')).toEqual([]);
    });

    it('accepts one of mode 0600 owned by root', async () => {
      const exit = runCli(start('--slots', '1', '--no-pin'), context);
      await waitFor(() => runtime.running().length === 1, 'the pilot');
      signals.emit('SIGTERM');
      expect(await exit).toBe(EXIT_OK);
      expect(err).not.toContain('error:');
    });

    it('never shows the token’s content', async () => {
      const open = path.join(tmp, 'open2.token');
      await writeFile(open, 'very-secret-token\n', { mode: 0o644 });
      await chmod(open, 0o644);
      await runCli(start('--slots', '1', '--no-pin', '--token-file', open), context);
      expect(err + out).not.toContain('very-secret-token');
    });
  });
});

describe('runCli: help', () => {
  it('prints the commands for --help and the options of start for start --help, exiting 0', async () => {
    const { result, printed } = await consoleLogOf(async () => [
      await runCli(['--help'], context),
      await runCli(['start', '--help'], context),
    ]);
    expect(result).toEqual([EXIT_OK, EXIT_OK]);
    const [general, start] = printed;
    expect(general).toMatch(/docker-cernvm-factory start .*\n.*docker-cernvm-factory scale <slots>/s);
    expect(start).toMatch(/--slots[\s\S]*--token-file/);
    expect({ err, calls: runtime.calls }).toEqual({ err: '', calls: [] });
  });

  it('prints the package’s version for --version and exits 0, asking no engine', async () => {
    const version = await versionIn(new URL('../../package.json', import.meta.url));
    expect(await consoleLogOf(() => runCli(['--version'], context))).toEqual({ result: EXIT_OK, printed: [version] });
    expect({ out, err, calls: runtime.calls }).toEqual({ out: '', err: '', calls: [] });
  });
});

describe('runCli: the image', () => {
  it('refuses an empty placeholder with exit 1, saying to run docker-cernvm mount', async () => {
    placeholder = placeholderStatus({ bound: undefined, version: undefined });
    expect(await runCli(start('--slots', '1', '--no-pin'), context)).toBe(EXIT_FAILURE);
    expect(err).toBe(
      'error: cernvm:4 is a docker-cernvm placeholder with no CernVM root mounted over it: run docker-cernvm mount --tag cernvm:4 first\n',
    );
    expect(runtime.callsOf('create:')).toEqual([]);
  });

  it('refuses an image that does not exist with exit 1', async () => {
    expect(await runCli(start('--slots', '1', '--no-pin', '--image', 'site/cernvm:9'), context)).toBe(EXIT_FAILURE);
    expect(err).toMatch(/^error: no image site\/cernvm:9: .*docker-cernvm mount --tag site\/cernvm:9/);
    expect(err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(runtime.callsOf('create:')).toEqual([]);
  });

  it.each([[[]], [['--no-pin']]])('exits 1 when the engine cannot be reached (%j)', async (args) => {
    const unreachable = async (): Promise<never> => {
      throw new Error('connect ENOENT /var/run/docker.sock');
    };
    runtime.facts = unreachable;
    runtime.list = unreachable;
    context.mounter = () => ({ ...fakeMounter(), describeImage: unreachable });
    expect(await runCli(start('--slots', '1', ...args), context)).toBe(EXIT_FAILURE);
    expect(err).toBe('error: connect ENOENT /var/run/docker.sock\n');
    expect(runtime.callsOf('create:')).toEqual([]);
  });
});

describe('runCli: start', () => {
  /** Runs `start` until the factory has `n` running pilots; `exit` is the exit code to come. */
  async function started(args: string[], n: number): Promise<{ exit: Promise<number> }> {
    const exit = runCli(args, context);
    await waitFor(() => runtime.running().length === n || err.includes('"level":"error"'), `${n} running pilots`);
    expect(runtime.running()).toHaveLength(n);
    return { exit };
  }

  it('fills the slots, and leaves them running on SIGTERM, exiting 0', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2'), 2);
    const ids = runtime.running().map((c) => c.id);
    signals.emit('SIGTERM');
    expect(await exit).toBe(EXIT_OK);
    expect(runtime.running().map((c) => c.id)).toEqual(ids);
    expect(runtime.callsOf('stop:')).toEqual([]);
    expect(signals.listenerCount).toBe(0);
    expect(clock.pending).toBe(0);
    expect(exitNow).toEqual([]);
    expect(out).toBe('');
    expect(logEvents()).toEqual(
      expect.arrayContaining(['factory-starting', 'slot-started', 'factory-stopping', 'factory-stopped']),
    );
  });

  it('writes one JSON object per log line, with the short id and slot as fields', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    signals.emit('SIGINT');
    expect(await exit).toBe(EXIT_OK);
    const lines = err
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const startedLine = lines.find((l) => l.event === 'slot-started')!;
    expect(startedLine).toMatchObject({ level: 'info', slot: 0, id: runtime.running()[0]!.id.slice(0, 12) });
    expect(lines.find((l) => l.event === 'factory-starting')).toMatchObject({
      slots: 1,
      image: 'cernvm:4',
      pin: false,
    });
  });

  it('never logs the token path’s content or puts the token in a container’s environment or labels', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    signals.emit('SIGTERM');
    await exit;
    const c = runtime.running()[0]!;
    expect(JSON.stringify({ env: c.options.Env, labels: c.options.Labels, cmd: c.options.Cmd })).not.toContain(token);
    // The slots see a copy of the token in a directory of the factory's, which a rotated token replaces.
    const copies = path.join(tmp, 'state', 'docker-cernvm', 'tokens.d');
    expect(c.options.HostConfig?.Binds).toContain(`${copies}:/pilot/tokens.d:ro`);
    expect(await readFile(path.join(copies, 'pool.token'), 'utf8')).toBe(await readFile(token, 'utf8'));
  });

  it('pins slot i to core i by default', async () => {
    const { exit } = await started(start('--slots', '2'), 2);
    signals.emit('SIGTERM');
    await exit;
    expect(
      runtime
        .running()
        .map((c) => c.options.HostConfig?.CpusetCpus)
        .sort(),
    ).toEqual(['0', '1']);
  });

  it('takes the slot count from the environment', async () => {
    context = { ...context, env: { DOCKER_CERNVM_FACTORY_SLOTS: '1' } };
    const { exit } = await started(start('--no-pin'), 1);
    signals.emit('SIGTERM');
    expect(await exit).toBe(EXIT_OK);
  });

  it('takes the last of a flag given twice', async () => {
    const { exit } = await started(start('--slots', '5', '--slots', '1', '--no-pin'), 1);
    signals.emit('SIGTERM');
    expect(await exit).toBe(EXIT_OK);
    expect(runtime.callsOf('create:')).toEqual(['create:docker-cernvm-slot-0']);
  });

  it('uses a mounted placeholder and marks its pilots with the CernVM version', async () => {
    placeholder = placeholderStatus({ version: '4.7.2' });
    const { exit } = await started(start('--no-pin', '--slots', '1'), 1);
    signals.emit('SIGTERM');
    await exit;
    expect(runtime.callsOf('image:')).toEqual([]);
    expect(runtime.running()[0]!.labels[LABELS.factory]).toBe('docker-cernvm');
    const line = err.split('\n').find((l) => l.includes('factory-starting'))!;
    expect(JSON.parse(line)).toMatchObject({ cernvm: '4.7.2' });
  });

  it('drains every pilot on SIGUSR1 and keeps running', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '2'), 2);
    const ids = runtime.running().map((c) => c.id);
    signals.emit('SIGUSR1');
    await advanceUntil(() => runtime.callsOf('signal:').length === 2, 'the drains');
    expect(runtime.callsOf('signal:').sort()).toEqual(ids.map((id) => `signal:${id}:SIGUSR1`).sort());
    expect(logEvents()).toContain('factory-draining');
    for (const id of ids) runtime.exit(id, 0);
    await advanceUntil(() => logEvents().includes('factory-drained'), 'drained');
    expect(runtime.containers.size).toBe(0);
    expect(runtime.callsOf('create:')).toHaveLength(2);
    signals.emit('SIGTERM');
    expect(await exit).toBe(EXIT_OK);
  });

  it('stops and removes the pilots on SIGTERM with --on-exit stop', async () => {
    const { exit } = await started(
      start('--no-pin', '--slots', '2', '--on-exit', 'stop', '--stop-timeout-seconds', '5'),
      2,
    );
    const ids = runtime.running().map((c) => c.id);
    signals.emit('SIGTERM');
    expect(await exit).toBe(EXIT_OK);
    expect(runtime.callsOf('stop:').sort()).toEqual(ids.map((id) => `stop:${id}:5`).sort());
    expect(runtime.containers.size).toBe(0);
  });

  it('leaves at once on a second stop signal while the first is still stopping', async () => {
    const { exit } = await started(start('--no-pin', '--slots', '1', '--on-exit', 'stop'), 1);
    const release = runtime.holdRemovals();
    signals.emit('SIGTERM');
    await waitFor(() => runtime.callsOf('remove:').length > 0, 'the removal to start');
    signals.emit('SIGINT');
    expect(exitNow).toEqual([130]);
    release();
    expect(await exit).toBe(EXIT_OK);
  });

  it('shows fill progress on a terminal with human logs', async () => {
    context = { ...context, io: { ...context.io, isTerminal: true } };
    const exit = runCli(
      [
        'start',
        '--token-file',
        token,
        '--state-dir',
        path.join(tmp, 'state'),
        '--scratch-dir',
        path.join(tmp, 'scratch'),
        ...isolated(),
        '--no-pin',
        '--slots',
        '2',
      ],
      context,
    );
    await waitFor(() => runtime.running().length === 2, '2 pilots');
    await advanceUntil(() => err.includes('slots 2/2 running\n'), 'the progress line');
    signals.emit('SIGTERM');
    expect(await exit).toBe(EXIT_OK);
    expect(err).toContain('slots 2/2 running\n');
    expect(err).toMatch(
      /^\S+ info {2}factory-starting name=docker-cernvm version=\d+\.\d+\.\d+\S* slots=2 image=cernvm:4 pin=false socket=\S+control\.sock http=none scratch=\S+\/scratch\/docker-cernvm$/m,
    );
  });

  it('exits 1 when the first pass fails, and leaves nothing behind that keeps the process alive', async () => {
    runtime.listFailures.push(engineError(500, 'engine restarting'));
    expect(await runCli(start('--no-pin', '--slots', '1'), context)).toBe(EXIT_FAILURE);
    expect(err.trim().split('\n').at(-1)).toBe('error: (HTTP code 500) engine restarting');
    expect(signals.listenerCount).toBe(0);
    expect(clock.pending).toBe(0);
    expect(runtime.eventStreams.every((s) => s.destroyed)).toBe(true);
  });
});
