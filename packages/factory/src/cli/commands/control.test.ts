import { fakeMounter } from '../../testing/fake-mounter.js';
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlRequest } from '../../control-protocol.js';
import { ControlServer } from '../../control-server.js';
import { FactoryError } from '../../errors.js';
import { socketPathOf } from '../../socket-path.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { FakeRuntime } from '../../testing/fake-runtime.js';
import { FakeSignals } from '@docker-cernvm/cli-kit/testing';
import type { CliContext } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from '../main.js';
import { formatStatus } from './control.js';
import { FakeMountHost } from '../../testing/fake-mount-host.js';

type Status = Parameters<typeof formatStatus>[0];

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-control-cli-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** What a running factory answers to `status`. */
const STATUS: Status = {
  name: 'docker-cernvm',
  draining: false,
  summary: { desired: 3, running: 2, starting: 1, draining: 0, stopping: 0, backoff: 0, claimed: 1, idle: 1 },
  template: { image: 'cernvm:4', cernvmVersion: '4.7.2', hash: '3f9c2a7b41d0' },
  slots: [
    {
      slot: 0,
      id: '0123456789ab',
      phase: 'running',
      draining: false,
      stopping: false,
      state: 'Claimed',
      jobId: '12.0',
    },
    { slot: 1, id: 'abcdef012345', phase: 'running', draining: false, stopping: false, state: 'Unclaimed' },
  ],
};

let out: string;
let err: string;
let context: CliContext;
let socketPath: string;
let server: ControlServer | undefined;
let requests: ControlRequest[];
let counter = 0;

/** A stand-in factory on the socket: records each request and answers `status` with STATUS. */
async function fakeFactory(
  answer: (request: ControlRequest) => unknown = (r) => (r.command === 'status' ? STATUS : { ok: r.command }),
) {
  server = await ControlServer.listen(socketPath, async (request) => {
    requests.push(request);
    return answer(request);
  });
}

beforeEach(() => {
  out = '';
  err = '';
  requests = [];
  socketPath = path.join(tmp, `f${++counter}.sock`);
  const clock = new FakeClock();
  context = {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTerminal: false },
    env: {},
    runtime: () => new FakeRuntime(clock),
    mounter: () => fakeMounter(),
    mountHost: () => new FakeMountHost(),
    clock,
    signals: new FakeSignals(),
    exitNow: () => undefined,
  };
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('control commands: bad input, exit 2, nothing sent', () => {
  it.each<[string, string[], RegExp]>([
    ['scale abc', ['scale', 'abc'], /^error: slots: expected a whole number from 0 to 4096, got "abc"$/],
    ['scale 1.5', ['scale', '1.5'], /^error: slots: expected a whole number from 0 to 4096, got "1\.5"$/],
    ['scale 99999', ['scale', '99999'], /^error: slots: expected a whole number from 0 to 4096, got "99999"$/],
    ['scale 4097', ['scale', '4097'], /^error: slots: expected a whole number from 0 to 4096, got "4097"$/],
    ['scale 1e3', ['scale', '1e3'], /^error: slots: expected a whole number from 0 to 4096, got "1e3"$/],
    ['scale " 3"', ['scale', ' 3'], /^error: slots: expected a whole number from 0 to 4096, got " 3"$/],
    ['scale -1', ['scale', '-1'], /^error: slots: expected a whole number from 0 to 4096, got "-1"$/],
    ['scale with no count', ['scale'], /^error: Not enough non-option arguments: got 0, need at least 1$/],
    ['scale with two counts', ['scale', '2', '3'], /^error: Unknown argument: 3$/],
    [
      'drain --deadline soon',
      ['drain', '--deadline', 'soon'],
      /^error: --deadline: expected a duration up to 30d, such as 45m, 2h or 90s, got "soon"$/,
    ],
    ['scale --deadline -5m', ['scale', '2', '--deadline=-5m'], /^error: --deadline: expected a duration/],
    ['drain --deadline without a value', ['drain', '--deadline'], /^error: Not enough arguments following: deadline$/],
    ['an unknown flag', ['status', '--bogus'], /^error: Unknown argument: bogus$/],
    ['--socket without a value', ['status', '--socket'], /^error: Not enough arguments following: socket$/],
    ['--name without a value', ['drain', '--name'], /^error: Not enough arguments following: name$/],
    [
      'scale with a newline in the count',
      ['scale', '1\n2'],
      /^error: slots: expected a whole number from 0 to 4096, got "1\\u000a2"$/,
    ],
    ['a dotted --name', ['drain', '--name.x', 'a'], /^error: --name: expected one value, such as --name VALUE$/],
  ])('%s', async (_name, args, message) => {
    await fakeFactory();
    // The factory's socket goes first, so that a flag left without its value stays last.
    expect(await runCli([args[0]!, '--socket', socketPath, ...args.slice(1)], context)).toBe(EXIT_USAGE);
    const [line] = err.split('\n');
    expect(err).toBe(`${line}\n`);
    expect(line).toMatch(message);
    expect(out).toBe('');
    expect(requests).toEqual([]);
  });
});

describe('control commands: no factory running', () => {
  it.each(['status', 'drain', 'resume'])('%s: exit 1, saying nothing answers on the socket', async (command) => {
    const missing = path.join(tmp, 'nobody.sock');
    expect(await runCli([command, '--socket', missing], context)).toBe(EXIT_FAILURE);
    expect(err).toBe(`error: no factory is running: nothing answers on ${missing}\n`);
    expect(out).toBe('');
  });

  it('scale: exit 1 too', async () => {
    const missing = path.join(tmp, 'nobody.sock');
    expect(await runCli(['scale', '3', '--socket', missing], context)).toBe(EXIT_FAILURE);
    expect(err).toBe(`error: no factory is running: nothing answers on ${missing}\n`);
  });

  it('looks for the socket of the factory named by --name under /run/docker-cernvm-factory', () => {
    expect(socketPathOf('docker-cernvm')).toBe('/run/docker-cernvm-factory/docker-cernvm.sock');
    expect(socketPathOf('site-a')).toBe('/run/docker-cernvm-factory/site-a.sock');
    expect(socketPathOf('site-a', '/tmp/x.sock')).toBe('/tmp/x.sock');
  });
});

describe('control commands: talking to a factory', () => {
  it('scale sends the count, without force unless asked, and says what it did', async () => {
    await fakeFactory();
    expect(await runCli(['scale', '8', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(await runCli(['scale', '0', '--force', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(requests).toEqual([
      { command: 'scale', slots: 8, force: false },
      { command: 'scale', slots: 0, force: true },
    ]);
    expect(out).toBe('scaling to 8 slots\nscaling to 0 slots\n');
    expect(err).toBe('');
  });

  it('drain --deadline and scale --deadline send the deadline in seconds from now', async () => {
    await fakeFactory();
    expect(await runCli(['drain', '--deadline', '45m', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(await runCli(['scale', '2', '--deadline', '90', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(requests).toEqual([
      { command: 'drain', deadlineSeconds: 2700 },
      { command: 'scale', slots: 2, force: false, deadlineSeconds: 90 },
    ]);
    expect(out).toBe('draining, jobs vacated after 45m\nscaling to 2 slots, jobs vacated after 90\n');
  });

  it('drain and resume send their command', async () => {
    await fakeFactory();
    expect(await runCli(['drain', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(await runCli(['resume', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(requests).toEqual([{ command: 'drain' }, { command: 'resume' }]);
    expect(out).toBe('draining\nresumed\n');
  });

  it('status prints the factory’s status for people', async () => {
    await fakeFactory();
    expect(await runCli(['status', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(out).toBe(formatStatus(STATUS));
    expect(out).toContain('factory docker-cernvm: 2/3 running\n');
  });

  it("status says the deadline, the cores still held, and each slot's deadline", () => {
    const text = formatStatus({
      ...STATUS,
      draining: true,
      summary: { ...STATUS.summary!, draining: 2, coresHeld: 2, deadlineEpoch: 1_800_000_000 },
      slots: STATUS.slots.map((slot) => ({ ...slot, draining: true, deadlineEpoch: 1_800_000_000 })),
    });
    expect(text).toContain('\ndeadline 2027-01-15T08:00:00Z: 2 cores still held, jobs vacated then\n');
    expect(text).toContain('until 2027-01-15T08:00:00Z\n');
  });

  it('status --json prints the answer as JSON, for scripts', async () => {
    await fakeFactory();
    expect(await runCli(['status', '--json', '--socket', socketPath], context)).toBe(EXIT_OK);
    expect(JSON.parse(out)).toEqual(STATUS);
  });

  it('a refusal for pinning is one error line and exit 2 (the request was wrong)', async () => {
    await fakeFactory(() => {
      throw new FactoryError(
        'E_PIN_OVERCOMMIT',
        '9 slots × 1 core(s) need 9 pinned cores, but this host has 2: run fewer slots or pass --no-pin',
      );
    });
    expect(await runCli(['scale', '9', '--socket', socketPath], context)).toBe(EXIT_USAGE);
    expect(err).toBe(
      'error: 9 slots × 1 core(s) need 9 pinned cores, but this host has 2: run fewer slots or pass --no-pin\n',
    );
    expect(out).toBe('');
  });
});

describe('formatStatus', () => {
  it('shows the counts, the template and one line per slot', () => {
    expect(formatStatus(STATUS)).toBe(
      [
        'factory docker-cernvm: 2/3 running',
        'image cernvm:4 (CernVM 4.7.2), template 3f9c2a7b41d0',
        'starting 1, draining 0, stopping 0, backoff 0, claimed 1, idle 1',
        '  slot 0  0123456789ab  running  Claimed job 12.0',
        '  slot 1  abcdef012345  running  Unclaimed',
        '',
      ].join('\n'),
    );
  });

  it('says when the factory drains, and marks draining and stopping slots', () => {
    const text = formatStatus({
      ...STATUS,
      draining: true,
      summary: { ...STATUS.summary!, running: 0, draining: 1, stopping: 1 },
      slots: [
        { slot: 0, id: '0123456789ab', phase: 'running', draining: true, stopping: false },
        { slot: 1, id: 'abcdef012345', phase: 'running', draining: false, stopping: true },
        { slot: 2, id: 'fedcba987654', phase: 'exited', draining: false },
      ],
    });
    expect(text.split('\n')).toEqual([
      'factory docker-cernvm (draining): 0/3 running',
      'image cernvm:4 (CernVM 4.7.2), template 3f9c2a7b41d0',
      'starting 1, draining 1, stopping 1, backoff 0, claimed 1, idle 1',
      '  slot 0  0123456789ab  running draining  -',
      '  slot 1  abcdef012345  running stopping  -',
      '  slot 2  fedcba987654  exited  -',
      '',
    ]);
  });

  it('names the host, so lines gathered from many hosts say whose they are', () => {
    expect(formatStatus({ ...STATUS, host: 'wn-r12-01', draining: true }).split('\n')[0]).toBe(
      'factory docker-cernvm on wn-r12-01 (draining): 2/3 running',
    );
  });

  it('status names the CernVM root the slots run from on podman, instead of the image', () => {
    const root = '/cvmfs/cernvm-prod.cern.ch/cvm4';
    expect(formatStatus({ ...STATUS, template: { ...STATUS.template, root } }).split('\n')[1]).toBe(
      `root ${root} (CernVM 4.7.2), template 3f9c2a7b41d0`,
    );
  });

  it('counts unhealthy slots and says why each one is', () => {
    const text = formatStatus({
      ...STATUS,
      summary: { ...STATUS.summary!, unhealthy: 1 },
      slots: [
        {
          slot: 0,
          id: '0123456789ab',
          phase: 'running',
          draining: false,
          state: 'Unclaimed',
          unhealthyReason: 'repository /cvmfs/atlas.cern.ch: Transport endpoint is not connected',
        },
      ],
    });
    expect(text.split('\n').slice(2, 4)).toEqual([
      'starting 1, draining 0, stopping 0, backoff 0, claimed 1, idle 1, unhealthy 1',
      '  slot 0  0123456789ab  running  Unclaimed  UNHEALTHY: repository /cvmfs/atlas.cern.ch: Transport endpoint is not connected',
    ]);
  });

  it('counts exits by reason, once there are any, and names the last failed or oom one', () => {
    expect(formatStatus({ ...STATUS, exits: { drained: 0, clean: 0, failed: 0, oom: 0 } })).toBe(formatStatus(STATUS));
    const exits = { drained: 4, clean: 0, failed: 1, oom: 1 };
    const lastProblem = { slot: 0, reason: 'oom', exitCode: 137, at: '2026-12-04T18:00:00.000Z' };
    expect(formatStatus({ ...STATUS, exits }).split('\n')[3]).toBe('exits: 4 drained, 0 clean, 1 failed, 1 oom');
    expect(formatStatus({ ...STATUS, exits: { ...exits, lastProblem } }).split('\n')[3]).toBe(
      'exits: 4 drained, 0 clean, 1 failed, 1 oom (last: slot 0 oom, code 137, at 2026-12-04T18:00:00.000Z)',
    );
  });

  it('says starting before the first pass, and leaves out an unknown CernVM version', () => {
    expect(
      formatStatus({ ...STATUS, summary: undefined, template: { image: 'site/slot:1', hash: 'abc' }, slots: [] }),
    ).toBe('factory docker-cernvm: starting\nimage site/slot:1, template abc\n');
  });
});
