import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CentralManager, TRUST_DOMAIN } from '../support/central-manager.js';
import { realEngineAvailable } from '../support/engine.js';
import { type FactoryProcess, waitFor } from '../support/factory-process.js';
import { TestPool } from '../support/test-pool.js';

const engineUp = await realEngineAvailable('machine/job features and token rotation on a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

const NAMES = { features: 'dcvm-e2e-mjf', rotate: 'dcvm-e2e-rotate' } as const;
/** Seconds between a startd's updates to the collector: short, so "one update interval" is short too. */
const UPDATE_SECONDS = 5;

/** The token's `jti` claim, which SEC_TOKEN_REVOCATION_EXPR names (the token is header.payload.signature). */
function tokenId(token: string): string {
  const payload = token.trim().split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { jti: string }).jti;
}

describePool('docker-cernvm on a real pool: machine/job features and token rotation', () => {
  let testPool: TestPool | undefined;
  let tmp: string;
  let pool: CentralManager;
  let factory: FactoryProcess | undefined;

  beforeAll(async () => {
    testPool = await TestPool.start(Object.values(NAMES));
    ({ tmp, manager: pool } = testPool);
  }, 600_000);

  afterEach(async () => {
    await testPool?.stopFactory();
  });

  afterAll(async () => {
    await testPool?.stop();
  });

  async function startFactory(name: string, slots: number, tokenFile: string): Promise<FactoryProcess> {
    const config = path.join(tmp, `${name}.yaml`);
    await writeFile(
      config,
      [
        'machineFeatures:',
        '  hs06: 200',
        'pilot:',
        '  diskMb: 100',
        '  siteSnippets:',
        '    - name: fast-updates',
        `      content: "UPDATE_INTERVAL = ${UPDATE_SECONDS}\\n"`,
        '',
      ].join('\n'),
    );
    return testPool!.startFactory(name, slots, ['--config', config, '--token-check-seconds', '1'], tokenFile);
  }

  const slotsOf = async (name: string) =>
    (await pool.slots(['DockerCernvmFactory', 'State'])).filter((ad) => ad.DockerCernvmFactory === name);

  const finished = async (job: string, count = 1) => {
    const done = await waitFor(
      async () => {
        const events = (await pool.events(job)).filter((e) => e.code === '005');
        return events.length === count ? events : undefined;
      },
      240_000,
      `${job} to finish`,
    );
    return done;
  };

  it('shows each job its slot’s $MACHINEFEATURES and $JOBFEATURES, read-only', async () => {
    factory = await startFactory(NAMES.features, 1, pool.tokenFile);
    await waitFor(async () => ((await slotsOf(NAMES.features)).length === 1 ? true : undefined), 120_000, 'the slot');
    await pool.submit({
      name: 'mjf',
      command: [
        'echo "dirs=$MACHINEFEATURES,$JOBFEATURES"',
        'for f in total_cpu hs06; do echo "m.$f=$(cat "$MACHINEFEATURES/$f")"; done',
        'for f in allocated_cpu max_rss_bytes max_swap_bytes scratch_limit_bytes jobstart_secs; do echo "j.$f=$(cat "$JOBFEATURES/$f")"; done',
        'if touch "$JOBFEATURES/x" 2>/dev/null; then echo writable; else echo read-only; fi',
        'ls "$JOBFEATURES" | tr "\\n" " "; echo',
      ].join('; '),
      requirements: `DockerCernvmFactory == "${NAMES.features}"`,
    });
    const [done] = await finished('mjf');
    expect(done!.text).toContain('return value 0');
    const lines = (await pool.jobOutput('mjf')).trim().split('\n');
    const values = Object.fromEntries(
      lines.filter((l) => l.includes('=')).map((l) => l.split('=') as [string, string]),
    );
    expect(values.dirs).toBe('/etc/machinefeatures,/etc/jobfeatures');
    expect(Number(values['m.total_cpu'])).toBeGreaterThanOrEqual(1);
    expect(values['m.hs06']).toBe('200');
    expect(values['j.allocated_cpu']).toBe('1');
    expect(values['j.max_rss_bytes']).toBe(String(512 * 1024 * 1024));
    expect(values['j.max_swap_bytes']).toBe('0');
    expect(values['j.scratch_limit_bytes']).toBe(String(100 * 1024 * 1024));
    expect(Math.abs(Number(values['j.jobstart_secs']) - Date.now() / 1000)).toBeLessThan(600);
    expect(lines).toContain('read-only');
    // No deadline: no wall limit is made up.
    expect(lines.at(-1)).not.toContain('wall_limit_secs');
  }, 420_000);

  it('hands a rotated token to running slots: the old one revoked, they keep advertising and the job completes', async () => {
    // The factory's own token file, which the test replaces the way an admin would: a new file renamed over it.
    const tokenFile = path.join(tmp, 'rotating.token');
    const oldToken = await readFile(pool.tokenFile, 'utf8');
    await writeFile(tokenFile, oldToken, { mode: 0o600 });
    factory = await startFactory(NAMES.rotate, 2, tokenFile);
    await waitFor(async () => ((await slotsOf(NAMES.rotate)).length === 2 ? true : undefined), 120_000, 'two slots');
    await pool.submit({
      name: 'across-rotation',
      command: 'sleep 45; echo done',
      requirements: `DockerCernvmFactory == "${NAMES.rotate}"`,
    });
    await waitFor(
      async () => ((await pool.events('across-rotation')).some((e) => e.code === '001') ? true : undefined),
      120_000,
      'the job to start',
    );

    const made = await pool.exec(['condor_token_create', '-identity', `condor@${TRUST_DOMAIN}`, '-key', 'POOL']);
    expect(made.exitCode).toBe(0);
    const newToken = `${made.output.trim()}\n`;
    expect(tokenId(newToken)).not.toBe(tokenId(oldToken));
    await writeFile(`${tokenFile}.new`, newToken, { mode: 0o600 });
    await rename(`${tokenFile}.new`, tokenFile);
    const copy = path.join(tmp, 'state', NAMES.rotate, 'tokens.d', 'pool.token');
    await waitFor(async () => ((await readFile(copy, 'utf8')) === newToken ? true : undefined), 30_000, 'the copy');
    expect(factory.logs().some((l) => l.event === 'token-rotated')).toBe(true);

    // Revoke the old token, then restart the collector so that every startd must authenticate again.
    await writeFile(
      path.join(pool.dir, 'config.d', '50-revoke.conf'),
      `SEC_TOKEN_REVOCATION_EXPR = jti =?= "${tokenId(oldToken)}"\n`,
    );
    // By signals, which need no ADMINISTRATOR authorization: HUP reconfigures the master and its daemons; a TERMed
    // collector is started again by the master, without the sessions the old one had.
    const signal = (sig: string, daemon: string) => pool.exec(['sh', '-c', `kill -${sig} $(pgrep -x ${daemon})`]);
    expect((await signal('HUP', 'condor_master')).exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The kernel keeps 15 characters of a command's name: condor_collector is condor_collecto to pgrep.
    const collectorPid = async () => (await pool.exec(['pgrep', '-x', 'condor_collecto'])).output.trim();
    const oldPid = await collectorPid();
    expect(oldPid).toMatch(/^\d+$/);
    expect((await signal('TERM', 'condor_collecto')).exitCode).toBe(0);
    const restartedAt = Date.now();
    await waitFor(
      async () => {
        const pid = await collectorPid();
        if (!/^\d+$/.test(pid) || pid === oldPid) return undefined;
        return (await pool.exec(['condor_status', '-collector', '-af', 'Name'])).exitCode === 0 ? true : undefined;
      },
      90_000,
      'a new collector',
    );
    // The new collector started empty: the slots are there again only once they have authenticated anew.
    await waitFor(
      async () => ((await slotsOf(NAMES.rotate)).length === 2 ? true : undefined),
      60_000,
      'both slots advertising with the new token',
    );
    console.log(`slots back in the collector ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its restart`);

    // The revocation holds: a client with only the old token is refused the startd's ADVERTISE_STARTD right, one
    // with the new token is granted it.
    const canAdvertise = async (token: string, name: string) => {
      await mkdir(path.join(pool.dir, 'probe', name), { recursive: true });
      await writeFile(path.join(pool.dir, 'probe', name, 'pool.token'), token, { mode: 0o600 });
      return pool.exec([
        'env',
        '_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS=IDTOKENS',
        `_CONDOR_SEC_TOKEN_DIRECTORY=/cm/probe/${name}`,
        'condor_ping',
        '-type',
        'collector',
        'ADVERTISE_STARTD',
      ]);
    };
    const withOld = await canAdvertise(oldToken, 'old');
    const withNew = await canAdvertise(newToken, 'new');
    expect({ exitCode: withNew.exitCode, output: withNew.output }).toMatchObject({ exitCode: 0 });
    expect({ exitCode: withOld.exitCode, output: withOld.output }).toMatchObject({ exitCode: 1 });

    // The slots never restarted, and the job that ran across the rotation completed once, never evicted.
    const started = factory.logs().filter((l) => l.event === 'slot-started');
    expect(started).toHaveLength(2);
    const [done] = await finished('across-rotation');
    expect(done!.text).toContain('return value 0');
    expect((await pool.events('across-rotation')).map((e) => e.code)).not.toContain('004');
  }, 420_000);
});
