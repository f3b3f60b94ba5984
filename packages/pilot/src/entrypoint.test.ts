import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Heartbeat, parseHeartbeat, readHeartbeat } from './heartbeat.js';
import type { PilotOptionsInput } from './options.js';
import { writePilotDir } from './pilot-dir.js';
import { ENTRYPOINT, HEARTBEAT_FILE, render } from './render.js';
import { testOptions } from './testing/pilot-options.js';

// The entrypoint runs for real under bash against fake HTCondor commands and a StartLog the tests write; the host's
// stat, awk, tail and pgrep do the rest. Each fake records what happened in $FAKE_DIR/events.
const SLOW = 20_000;
const EX_CONFIG = 78;
const REAL_PGREP = execFileSync('sh', ['-c', 'command -v pgrep'], { encoding: 'utf8' }).trim();
const REAL_MKFIFO = execFileSync('sh', ['-c', 'command -v mkfifo'], { encoding: 'utf8' }).trim();

const FAKES: Record<string, string> = {
  // Knows where the startd logs, as the real one would answer from the image's configuration. Slow when asked
  // ($FAKE_CONFIG_SECONDS), as the real one can be while a host starts many pilots at once.
  condor_config_val: `#!/bin/sh
set -eu
if [ -n "\${FAKE_CONFIG_SECONDS:-}" ]; then echo "config asked $1" >>"$FAKE_DIR/events"; sleep "$FAKE_CONFIG_SECONDS"; fi
case $1 in
  STARTD_LOG) echo "$FAKE_DIR/StartLog" ;;
  STARTER_LOG) echo "$FAKE_DIR/StarterLog" ;;
  *) echo "Not defined: $1" >&2; exit 1 ;;
esac
`,
  // Records its start; exits with $FAKE_MASTER_EXIT after $FAKE_MASTER_SECONDS, or with 0 on SIGTERM.
  condor_master: `#!/bin/sh
echo "master started memory=\${_CONDOR_MEMORY:-unset} args=$* config=$CONDOR_CONFIG" >>"$FAKE_DIR/events"
child=
trap 'echo "master got TERM" >>"$FAKE_DIR/events"; [ -z "$child" ] || kill "$child"; sleep "\${FAKE_MASTER_STOP_SECONDS:-0}"; exit 0' TERM
[ -z "\${FAKE_STARTD_SECONDS:-}" ] || condor_startd &
if [ -n "\${FAKE_MASTER_EXIT:-}" ]; then sleep "\${FAKE_MASTER_SECONDS:-1}"; exit "$FAKE_MASTER_EXIT"; fi
sleep 60 &
child=$!
wait "$child"
`,
  // A startd finishing its job: pgrep -x condor_startd sees it until it ends.
  condor_startd: `#!/bin/sh
sleep "$FAKE_STARTD_SECONDS"
echo "startd exited" >>"$FAKE_DIR/events"
`,
  condor_off: `#!/bin/sh
echo "condor_off $*" >>"$FAKE_DIR/events"
`,
  condor_reconfig: `#!/bin/sh
echo "condor_reconfig $*" >>"$FAKE_DIR/events"
`,
  // The host's pgrep, but only within this test's session: a real condor_startd elsewhere on the host must not count.
  pgrep: `#!/bin/sh
exec ${REAL_PGREP} -s 0 "$@"
`,
};

interface Fixture {
  dir: string;
  pilotDir: string;
  bin: string;
  token: string;
  events: string;
}

interface RunningPilot {
  child: ChildProcess;
  /** The exit code (128 + signal number when killed). */
  exited: Promise<number>;
  stderr: () => string;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGTERM: 15, SIGKILL: 9, SIGUSR1: 10, SIGINT: 2, SIGQUIT: 3 };

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('entrypoint.sh', () => {
  let fixture: Fixture;
  const started: ChildProcess[] = [];

  beforeEach(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pilot-entrypoint-'));
    fixture = {
      dir,
      pilotDir: path.join(dir, 'pilot'),
      bin: path.join(dir, 'bin'),
      token: path.join(dir, 'pool.token'),
      events: path.join(dir, 'events'),
    };
    await mkdir(fixture.bin);
    for (const [name, text] of Object.entries(FAKES))
      await writeFile(path.join(fixture.bin, name), text, { mode: 0o755 });
    await logSlot('Changing state: Owner -> Unclaimed');
    await renderPilot();
    await writeToken('eyJhbGciOiJIUzI1NiJ9.x.y\n', 0o600);
  });

  afterEach(async () => {
    // Only the process groups these tests started (each pilot runs in its own session).
    for (const child of started.splice(0)) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await rm(fixture.dir, { recursive: true, force: true });
  });

  async function renderPilot(overrides: Partial<PilotOptionsInput> = {}): Promise<void> {
    const options = testOptions({
      pilotDir: fixture.pilotDir,
      tokenFile: fixture.token,
      heartbeatSeconds: 1,
      ...overrides,
    });
    writePilotDir(fixture.pilotDir, render(options));
  }

  async function writeToken(content: string, mode: number): Promise<void> {
    await writeFile(fixture.token, content);
    await chmod(fixture.token, mode);
  }

  /** Lines of the startd's log about its slot, as HTCondor writes them. */
  async function logSlot(...lines: string[]): Promise<void> {
    const text = lines.map((line) => `12/04/26 07:59:34 slot1: ${line}\n`).join('');
    await writeFile(path.join(fixture.dir, 'StartLog'), text, { flag: 'a' });
  }

  /** Lines of the starter's log, with the Unix times 46-job-ends.conf asks for. */
  async function logStarter(...lines: [epoch: number, text: string][]): Promise<void> {
    const text = lines.map(([epoch, line]) => `${epoch} (pid:4242) ${line}\n`).join('');
    await writeFile(path.join(fixture.dir, 'StarterLog'), text, { flag: 'a' });
  }

  const CLAIMED_BUSY = [
    'Changing state: Unclaimed -> Claimed',
    'Remote job ID is 42.0',
    'Changing activity: Idle -> Busy',
  ];

  async function events(): Promise<string[]> {
    const text = await readFile(fixture.events, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean);
  }

  function startPilot(
    env: Record<string, string> = {},
    pathDirs = `${fixture.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  ): RunningPilot {
    const child = spawn('/bin/bash', [path.join(fixture.pilotDir, ENTRYPOINT)], {
      env: { ...process.env, PATH: pathDirs, FAKE_DIR: fixture.dir, ...env },
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    started.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number>((resolve) =>
      child.on('close', (code, signal) => resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 0))),
    );
    return { child, exited, stderr: () => stderr };
  }

  const heartbeatPath = () => path.join(fixture.pilotDir, HEARTBEAT_FILE);

  function heartbeatWhere(what: string, predicate: (heartbeat: Heartbeat) => boolean): Promise<Heartbeat> {
    return waitFor(what, async () => {
      const heartbeat = readHeartbeat(heartbeatPath());
      return heartbeat && predicate(heartbeat) ? heartbeat : undefined;
    });
  }

  it('is valid bash syntax', () => {
    expect(() => execFileSync('/bin/bash', ['-n', path.join(fixture.pilotDir, ENTRYPOINT)])).not.toThrow();
  });

  describe('refuses to start HTCondor (exit 78) when', () => {
    async function expectRefusal(message: RegExp): Promise<void> {
      const pilot = startPilot();
      await expect(pilot.exited).resolves.toBe(EX_CONFIG);
      expect(pilot.stderr()).toMatch(message);
      expect(await events()).toEqual([]); // condor_master never ran
    }

    it(
      'the token is missing, naming its path',
      async () => {
        await rm(fixture.token);
        await expectRefusal(new RegExp(`no pool token at ${fixture.token}`));
      },
      SLOW,
    );

    it(
      'the token is empty',
      async () => {
        await writeToken('', 0o600);
        await expectRefusal(new RegExp(`the pool token ${fixture.token} is empty`));
      },
      SLOW,
    );

    it.each(['644', '640'])(
      'the token has mode %s, saying chmod 600',
      async (mode) => {
        await writeToken('eyJhbGciOiJIUzI1NiJ9.x.y\n', parseInt(mode, 8));
        await expectRefusal(new RegExp(`has mode ${mode}: .*chmod 600`));
      },
      SLOW,
    );

    it(
      'the token is a directory',
      async () => {
        await rm(fixture.token);
        await mkdir(fixture.token);
        await expectRefusal(/is not a regular file/);
      },
      SLOW,
    );

    it(
      'the token is not owned by root',
      async () => {
        await chown(fixture.token, 1000, 1000);
        await expectRefusal(/owned by uid 1000: .*chown root/);
      },
      SLOW,
    );

    it(
      'an HTCondor command is missing from the image',
      async () => {
        await rm(path.join(fixture.bin, 'condor_off'));
        const pilot = startPilot({}, `${fixture.bin}:/usr/bin:/bin`);
        await expect(pilot.exited).resolves.toBe(EX_CONFIG);
        expect(pilot.stderr()).toMatch(/condor_off not found/);
        expect(await events()).toEqual([]);
      },
      SLOW,
    );
  });

  it(
    'carries the health check’s verdict in the heartbeat: none before the first check, then healthy or why not',
    async () => {
      const pilot = startPilot();
      const first = await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running');
      expect(first).toMatchObject({ healthy: null, unhealthySince: null, unhealthyReason: null });
      const verdict = path.join(fixture.pilotDir, 'status', 'health');
      await writeFile(verdict, 'unhealthy 1700000000 repository /cvmfs/x: Transport endpoint is not connected\n');
      expect(await heartbeatWhere('an unhealthy heartbeat', (h) => h.healthy === false)).toMatchObject({
        unhealthySince: 1_700_000_000,
        unhealthyReason: 'repository /cvmfs/x: Transport endpoint is not connected',
      });
      await writeFile(verdict, 'healthy 1700000060\n');
      expect(await heartbeatWhere('a healthy heartbeat', (h) => h.healthy === true)).toMatchObject({
        unhealthySince: null,
        unhealthyReason: null,
      });
      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
    },
    SLOW,
  );

  it(
    'carries the last ten job ends from the starter’s log: seconds run and exit status, 128 + signal when killed',
    async () => {
      const pilot = startPilot();
      const first = await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running');
      expect(first.jobEnds).toEqual([]);
      const job = (begin: number, end: string): [number, string][] => [
        [begin, 'Starting a VANILLA universe job with ID: 7.0'],
        [begin + 1, 'Create_Process succeeded, pid=99'],
        [begin + 3, `Process exited, pid=99, ${end}`],
      ];
      await logStarter(...job(1_700_000_000, 'status=1'), ...job(1_700_000_100, 'signal=9'));
      // An exit without a start read before it (a log that began mid-job) is no job end.
      await logStarter([1_700_000_200, 'Process exited, pid=98, status=2']);
      expect((await heartbeatWhere('two job ends', (h) => h.jobEnds?.length === 2)).jobEnds).toEqual([
        [3, 1],
        [3, 137],
      ]);
      for (let i = 0; i < 10; i++) await logStarter(...job(1_700_001_000 + i * 100, 'status=0'));
      const ten = await heartbeatWhere('ten successes', (h) => h.jobEnds?.[9]?.[1] === 0 && h.jobEnds[0]?.[1] === 0);
      expect(ten.jobEnds).toEqual(Array.from({ length: 10 }, () => [3, 0]));
      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
    },
    SLOW,
  );

  it(
    'starts condor_master with its own config, writes a running heartbeat, and stops on SIGTERM with exit 0',
    async () => {
      const pilot = startPilot();
      // The first one can come before the startd's log has been read: its state is then null.
      const heartbeat = await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running' && h.state !== null);
      expect(heartbeat).toMatchObject({
        phase: 'running',
        state: 'Unclaimed',
        activity: 'Idle',
        jobId: null,
        drainReason: null,
      });
      expect(heartbeat.epoch).toBeGreaterThanOrEqual(heartbeat.startedEpoch);
      expect(parseHeartbeat(await readFile(heartbeatPath(), 'utf8'))).toEqual(heartbeat);
      expect((await events())[0]).toMatch(/^master started .* args=-f config=(.*)$/);
      expect((await events())[0]?.endsWith(` config=${path.join(fixture.pilotDir, 'condor_config')}`)).toBe(true);

      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
      expect(await events()).toContain('master got TERM');
      expect(await events()).not.toContainEqual(expect.stringMatching(/^condor_(off|reconfig)/));
      expect(readHeartbeat(heartbeatPath())?.phase).toBe('exited');
      expect(await readdir(path.join(fixture.pilotDir, 'status'))).toEqual(['health', 'heartbeat.json']);
    },
    SLOW,
  );

  it(
    'reports a claimed slot and its job in the heartbeat',
    async () => {
      await logSlot(...CLAIMED_BUSY);
      const pilot = startPilot();
      const heartbeat = await heartbeatWhere('a claimed heartbeat', (h) => h.state === 'Claimed');
      expect(heartbeat).toMatchObject({ phase: 'running', activity: 'Busy', jobId: '42.0' });
      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
    },
    SLOW,
  );

  it(
    'vacates a running job on SIGTERM before it stops the master: a stop does not wait for the job like a drain',
    async () => {
      await logSlot(...CLAIMED_BUSY);
      const pilot = startPilot();
      await heartbeatWhere('a claimed heartbeat', (h) => h.state === 'Claimed');
      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
      const recorded = await events();
      expect(recorded).toContain('condor_reconfig -daemon startd');
      expect(recorded.indexOf('master got TERM')).toBeGreaterThan(recorded.indexOf('condor_reconfig -daemon startd'));
      await expect(readFile(path.join(fixture.dir, 'cernvm-stop.conf'), 'utf8')).resolves.toBe(
        'MAXJOBRETIREMENTTIME = 0\n',
      );
    },
    SLOW,
  );

  it(
    'starts no process and does not wake while the slot idles between heartbeats',
    async () => {
      const realMv = execFileSync('sh', ['-c', 'command -v mv'], { encoding: 'utf8' }).trim();
      const recordedMv = `#!/bin/sh\necho "mv $*" >>"$FAKE_DIR/events"\nexec ${realMv} "$@"\n`;
      await writeFile(path.join(fixture.bin, 'mv'), recordedMv, { mode: 0o755 });
      await renderPilot({ heartbeatSeconds: 60 });
      const pilot = startPilot();
      await heartbeatWhere('an unclaimed heartbeat', (h) => h.state === 'Unclaimed');
      // The master may log its start after the first heartbeat on a busy machine: the idle window begins after both.
      await waitFor('the master to start', async () => (await events()).find((e) => e.startsWith('master started')));
      const before = await events();
      const wakeups = async () =>
        Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(await readFile(`/proc/${pilot.child.pid}/status`, 'utf8'))?.[1]);
      const wokenBefore = await wakeups();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await events()).toEqual(before);
      // Nor does the shell itself wake: a loop polling once a second would have woken three times.
      expect((await wakeups()) - wokenBefore).toBeLessThan(2);
      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
    },
    SLOW,
  );

  it(
    'follows the slot through a job as the startd logs it, within a second and between heartbeats',
    async () => {
      await renderPilot({ heartbeatSeconds: 60 });
      const pilot = startPilot();
      await heartbeatWhere('an unclaimed heartbeat', (h) => h.state === 'Unclaimed');
      await logSlot(...CLAIMED_BUSY);
      const busy = await heartbeatWhere('a busy heartbeat', (h) => h.activity === 'Busy');
      expect(busy).toMatchObject({ state: 'Claimed', jobId: '42.0' });
      await logSlot('Changing activity: Busy -> Idle');
      const done = await heartbeatWhere('an idle heartbeat', (h) => h.activity === 'Idle');
      expect(done).toMatchObject({ state: 'Claimed', jobId: null });
      await logSlot(
        'Changing state and activity: Claimed/Idle -> Preempting/Vacating',
        'Changing state and activity: Preempting/Vacating -> Owner/Idle',
        'Changing state: Owner -> Unclaimed',
      );
      await heartbeatWhere('an unclaimed heartbeat again', (h) => h.state === 'Unclaimed' && h.activity === 'Idle');
      pilot.child.kill('SIGTERM');
      await expect(pilot.exited).resolves.toBe(0);
    },
    SLOW,
  );

  it.each([
    ['SIGUSR1', /asked to drain before HTCondor started: exiting 0/, 'signal'],
    ['SIGTERM', /asked to stop before HTCondor started: exiting 0/, null],
  ] as const)(
    'answers %s that comes while it gets ready (before HTCondor starts) with exit 0, and never starts HTCondor',
    async (signal, said, drainReason) => {
      const pilot = startPilot({ FAKE_CONFIG_SECONDS: '0.5' });
      await waitFor('the first configuration lookup', async () =>
        (await events()).some((e) => e.startsWith('config asked')) ? true : undefined,
      );
      pilot.child.kill(signal);
      await expect(pilot.exited).resolves.toBe(0);
      expect((await events()).filter((e) => e.startsWith('master started'))).toEqual([]);
      expect(pilot.stderr()).toMatch(said);
      expect(readHeartbeat(heartbeatPath())).toMatchObject({ phase: 'exited', drainReason });
    },
    SLOW,
  );

  // The last step before the master starts makes the watch loop's FIFO: a signal then found no master to tell, and
  // the pilot ran on as if never told.
  describe('a signal that comes just before the master starts', () => {
    async function signalWhileTheFifoIsMade(signal: NodeJS.Signals): Promise<RunningPilot> {
      await writeFile(
        path.join(fixture.bin, 'mkfifo'),
        `#!/bin/sh\necho "mkfifo asked" >>"$FAKE_DIR/events"\nsleep 0.5\nexec ${REAL_MKFIFO} "$@"\n`,
        { mode: 0o755 },
      );
      const pilot = startPilot();
      await waitFor('the FIFO being made', async () => ((await events()).includes('mkfifo asked') ? true : undefined));
      pilot.child.kill(signal);
      return pilot;
    }

    it(
      'a drain (SIGUSR1) is sent once the master answers, and the pilot drains',
      async () => {
        const pilot = await signalWhileTheFifoIsMade('SIGUSR1');
        await expect(pilot.exited).resolves.toBe(0);
        expect(await events()).toContain('condor_off -graceful -daemon startd');
        expect(pilot.stderr()).toMatch(/drained \(signal\): exiting 0/);
      },
      SLOW,
    );

    it(
      'a stop (SIGTERM) is passed to the master as soon as it has started, and the pilot ends',
      async () => {
        const pilot = await signalWhileTheFifoIsMade('SIGTERM');
        // The master may end of the signal itself (143), before its handler is in place.
        expect([0, 143]).toContain(await pilot.exited);
        expect(pilot.stderr()).toMatch(/graceful shutdown \(SIGTERM\)[^]*condor_master started/);
      },
      SLOW,
    );
  });

  it(
    'drains on SIGUSR1: condor_off -graceful for the startd, then, with the startd gone, stops the master and exits 0',
    async () => {
      const pilot = startPilot();
      await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running');
      pilot.child.kill('SIGUSR1');
      await expect(pilot.exited).resolves.toBe(0);
      const recorded = await events();
      expect(recorded).toContain('condor_off -graceful -daemon startd');
      expect(recorded.indexOf('master got TERM')).toBeGreaterThan(
        recorded.indexOf('condor_off -graceful -daemon startd'),
      );
      expect(readHeartbeat(heartbeatPath())).toMatchObject({ phase: 'exited', drainReason: 'signal' });
      expect(pilot.stderr()).toMatch(/drained \(signal\): exiting 0/);
    },
    SLOW,
  );

  it(
    'waits for the running startd to finish before it stops the master',
    async () => {
      const pilot = startPilot({ FAKE_STARTD_SECONDS: '3' });
      await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running');
      pilot.child.kill('SIGUSR1');
      await heartbeatWhere('a draining heartbeat', (h) => h.phase === 'draining');
      await expect(pilot.exited).resolves.toBe(0);
      const recorded = await events();
      expect(recorded.indexOf('condor_off -graceful -daemon startd')).toBeGreaterThan(0);
      expect(recorded.indexOf('startd exited')).toBeGreaterThan(
        recorded.indexOf('condor_off -graceful -daemon startd'),
      );
      expect(recorded.indexOf('master got TERM')).toBeGreaterThan(recorded.indexOf('startd exited'));
    },
    SLOW,
  );

  it(
    'exits within a second or two of the master, not at the next heartbeat, when the master takes a moment to stop',
    async () => {
      await renderPilot({ heartbeatSeconds: 60 });
      const pilot = startPilot({ FAKE_STARTD_SECONDS: '1', FAKE_MASTER_STOP_SECONDS: '1' });
      await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running');
      pilot.child.kill('SIGUSR1');
      await waitFor('the master told to stop', async () =>
        (await events()).includes('master got TERM') ? true : undefined,
      );
      const told = Date.now();
      await expect(pilot.exited).resolves.toBe(0);
      expect(Date.now() - told).toBeLessThan(4_000);
    },
    SLOW,
  );

  it(
    'tells a running startd of a deadline set after the drain began, with one reconfig',
    async () => {
      const pilot = startPilot({ FAKE_STARTD_SECONDS: '8' });
      await heartbeatWhere('a running heartbeat', (h) => h.phase === 'running');
      pilot.child.kill('SIGUSR1');
      await heartbeatWhere('a draining heartbeat', (h) => h.phase === 'draining');
      const deadline = Math.ceil(Date.now() / 1000) + 2;
      await writeFile(path.join(fixture.pilotDir, 'deadline.conf'), `CernvmDeadline = ${deadline}\n`);
      await waitFor('the reconfig', async () =>
        (await events()).includes('condor_reconfig -daemon startd') ? true : undefined,
      );
      const recorded = await events();
      expect(recorded.indexOf('condor_reconfig -daemon startd')).toBeGreaterThan(
        recorded.indexOf('condor_off -graceful -daemon startd'),
      );
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await events()).filter((e) => e === 'condor_reconfig -daemon startd')).toHaveLength(1);
      expect(pilot.stderr()).toMatch(/deadline \d+: the slot ad says so/);
    },
    SLOW,
  );

  it(
    'drains by itself at a deadline it was started with, without a reconfig for it',
    async () => {
      await writeFile(
        path.join(fixture.pilotDir, 'deadline.conf'),
        `CernvmDeadline = ${Math.floor(Date.now() / 1000)}\n`,
      );
      const pilot = startPilot();
      await expect(pilot.exited).resolves.toBe(0);
      const recorded = await events();
      expect(recorded).toContain('condor_off -graceful -daemon startd');
      expect(recorded.some((e) => e.startsWith('condor_reconfig'))).toBe(false);
      expect(readHeartbeat(heartbeatPath())).toMatchObject({ phase: 'exited', drainReason: 'deadline' });
    },
    SLOW,
  );

  it(
    'drains by itself once the maximum lifetime has passed',
    async () => {
      await renderPilot({ maxLifetimeSeconds: 1 });
      const pilot = startPilot();
      await expect(pilot.exited).resolves.toBe(0);
      expect(await events()).toContain('condor_off -graceful -daemon startd');
      expect(readHeartbeat(heartbeatPath())).toMatchObject({ phase: 'exited', drainReason: 'lifetime' });
    },
    SLOW,
  );

  it(
    'exits 99 when the master ends itself (99) while the slot was claimed',
    async () => {
      await logSlot(...CLAIMED_BUSY);
      const pilot = startPilot({ FAKE_MASTER_EXIT: '99' });
      await expect(pilot.exited).resolves.toBe(99);
      expect(pilot.stderr()).toMatch(/DAEMON_SHUTDOWN/);
    },
    SLOW,
  );

  it(
    'exits 0 when the master ends itself (99) with the slot unclaimed: the idle limit',
    async () => {
      const pilot = startPilot({ FAKE_MASTER_EXIT: '99' });
      await expect(pilot.exited).resolves.toBe(0);
      expect(pilot.stderr()).toMatch(/idle limit/);
    },
    SLOW,
  );

  it(
    "exits with the master's own code when it fails",
    async () => {
      const pilot = startPilot({ FAKE_MASTER_EXIT: '3' });
      await expect(pilot.exited).resolves.toBe(3);
      expect(pilot.stderr()).toMatch(/condor_master failed with exit code 3/);
      expect(readHeartbeat(heartbeatPath())?.phase).toBe('exited');
    },
    SLOW,
  );

  it(
    "sets the slot's memory from the container when MEMORY_MB is auto, and leaves it to the config otherwise",
    async () => {
      let pilot = startPilot({ FAKE_MASTER_EXIT: '0', FAKE_MASTER_SECONDS: '0' });
      await expect(pilot.exited).resolves.toBe(0);
      expect((await events())[0]).toMatch(/^master started memory=[1-9][0-9]* /);

      await rm(fixture.events);
      await renderPilot({ memoryMb: 2048 });
      pilot = startPilot({ FAKE_MASTER_EXIT: '0', FAKE_MASTER_SECONDS: '0' });
      await expect(pilot.exited).resolves.toBe(0);
      expect((await events())[0]).toMatch(/^master started memory=unset /);
    },
    SLOW,
  );

  describe('the scratch directory (EXECUTE)', () => {
    const FAKE_ID = '#!/bin/sh\n[ "$2" = condor ] || exit 1\necho 65534\n';

    it(
      'hands it to the condor account with mode 0755 before HTCondor starts',
      async () => {
        const scratch = path.join(fixture.dir, 'scratch');
        await mkdir(scratch, { mode: 0o777 });
        await chmod(scratch, 0o777);
        await writeFile(path.join(fixture.bin, 'id'), FAKE_ID, { mode: 0o755 });
        await renderPilot({ executeDir: scratch });
        const pilot = startPilot({ FAKE_MASTER_EXIT: '0', FAKE_MASTER_SECONDS: '0' });
        await expect(pilot.exited).resolves.toBe(0);
        const info = await stat(scratch);
        expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([65534, 65534, 0o755]);
        expect((await events())[0]).toMatch(/^master started/);
      },
      SLOW,
    );

    it(
      'refuses (78) when it is not there, saying to mount it',
      async () => {
        await renderPilot({ executeDir: path.join(fixture.dir, 'no-scratch') });
        const pilot = startPilot();
        await expect(pilot.exited).resolves.toBe(EX_CONFIG);
        expect(pilot.stderr()).toMatch(/the scratch directory .*no-scratch is not mounted/);
        expect(await events()).toEqual([]);
      },
      SLOW,
    );
  });
});
