import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderConfigSnippets } from './condor-config.js';
import { renderEntrypointSettings } from './entrypoint-settings.js';
import { HEALTH_CHECK, HEALTH_FILE, healthRepositories } from './health-check.js';
import { writePilotDir } from './pilot-dir.js';
import { HEARTBEAT_FILE, render } from './render.js';
import { parseCondorConfig } from './testing/condor-config-parser.js';
import { testOptions } from './testing/pilot-options.js';

const run = promisify(execFile);

describe('the health check configuration', () => {
  it('runs the check every 60 s by default, and START requires a slot not found unhealthy', () => {
    const config = parseCondorConfig(
      ...renderConfigSnippets(testOptions({ start: 'Owner == "atlas"' })).map((s) => s.content),
    );
    expect(config.get('STARTD_CRON_JOBLIST')?.trim()).toBe('CERNVMHEALTH');
    expect(config.get('STARTD_CRON_CERNVMHEALTH_EXECUTABLE')).toBe(`/pilot/${HEALTH_CHECK}`);
    expect(config.get('STARTD_CRON_CERNVMHEALTH_MODE')).toBe('Periodic');
    expect(config.get('STARTD_CRON_CERNVMHEALTH_PERIOD')).toBe('60s');
    expect(config.get('START')).toBe('(Owner == "atlas") && (CernvmHealthy =!= False)');
  });

  it('takes its period from the options, and renders nothing with 0', () => {
    const every5 = renderConfigSnippets(testOptions({ healthCheckSeconds: 5 }));
    expect(every5.find((s) => s.name === '45-health.conf')?.content).toContain('_PERIOD = 5s');
    const names = renderConfigSnippets(testOptions({ healthCheckSeconds: 0 })).map((s) => s.name);
    expect(names).not.toContain('45-health.conf');
  });

  it('checks the repositories the slot mounts under /cvmfs, not its other mounts', () => {
    const options = testOptions({
      mounts: [
        { source: '/cvmfs/alice.cern.ch', target: '/cvmfs/alice.cern.ch' },
        { source: '/etc/grid-security', target: '/etc/grid-security' },
        { source: '/srv/cvmfs-like', target: '/cvmfsx' },
      ],
    });
    expect(healthRepositories(options)).toEqual(['/cvmfs/alice.cern.ch']);
    expect(renderEntrypointSettings(options)).toContain("HEALTH_REPOSITORIES=('/cvmfs/alice.cern.ch')");
  });
});

// The script runs for real under bash in a rendered pilot directory, against directories of the host.
describe('health-check.sh', () => {
  let dir: string;
  let pilotDir: string;
  let scratch: string;
  let repository: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilot-health-'));
    pilotDir = path.join(dir, 'pilot');
    scratch = path.join(dir, 'scratch');
    repository = path.join(dir, 'cvmfs', 'repo.test.invalid');
    await mkdir(scratch);
    await mkdir(repository, { recursive: true });
    writePilotDir(pilotDir, render(testOptions({ pilotDir, heartbeatSeconds: 2 })));
    await settings({});
    await writeFile(path.join(pilotDir, HEARTBEAT_FILE), '{}\n');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** pilot.env as the tests need it: container paths are this host's here. */
  async function settings(o: { repositories?: string[]; minFreeMb?: number; timeout?: number }) {
    const repositories = (o.repositories ?? [repository]).map((r) => `'${r}'`).join(' ');
    await writeFile(
      path.join(pilotDir, 'pilot.env'),
      [
        'HEARTBEAT_SECONDS=2',
        `EXECUTE_DIR='${scratch}'`,
        `HEALTH_REPOSITORIES=(${repositories})`,
        `HEALTH_MIN_FREE_MB=${o.minFreeMb ?? 1}`,
        `HEALTH_TIMEOUT_SECONDS=${o.timeout ?? 5}`,
        '',
      ].join('\n'),
    );
  }

  async function check(env: Record<string, string> = {}) {
    const { stdout } = await run('/bin/bash', [path.join(pilotDir, HEALTH_CHECK)], { env: { ...process.env, ...env } });
    return { stdout, verdict: await readFile(path.join(pilotDir, HEALTH_FILE), 'utf8') };
  }

  it('says healthy when the repositories answer, scratch takes a file and the heartbeat is fresh', async () => {
    const { stdout, verdict } = await check();
    expect(stdout).toBe('CernvmHealthy = True\nCernvmUnhealthyReason = ""\n- update:true\n');
    expect(verdict).toMatch(/^healthy \d+\n$/);
  });

  it('asks for an update only when the verdict changes', async () => {
    await check();
    expect((await check()).stdout).not.toContain('update');
    await settings({ repositories: [path.join(dir, 'cvmfs', 'gone')] });
    expect((await check()).stdout).toContain('- update:true');
    expect((await check()).stdout).not.toContain('update');
  });

  it('names a repository that does not answer, and keeps the time it first failed', async () => {
    const gone = path.join(dir, 'cvmfs', 'gone.test.invalid');
    await settings({ repositories: [repository, gone] });
    const first = await check();
    expect(first.stdout).toContain('CernvmHealthy = False\n');
    expect(first.stdout).toContain(`CernvmUnhealthyReason = "repository ${gone}: No such file or directory"`);
    const since = /^unhealthy (\d+) /.exec(first.verdict)?.[1];
    await writeFile(path.join(pilotDir, HEALTH_FILE), `unhealthy 1000 repository ${gone}: No such file or directory\n`);
    expect((await check()).verdict).toMatch(/^unhealthy 1000 /);
    expect(Number(since)).toBeGreaterThan(1000);
  });

  it('with all of /cvmfs bound, checks each repository mounted there, a dead one too', async () => {
    const cvmfs = path.dirname(repository);
    await symlink(path.join(dir, 'nowhere'), path.join(cvmfs, 'dead.test.invalid'));
    await settings({ repositories: [cvmfs] });
    await appendFile(path.join(pilotDir, 'pilot.env'), `HEALTH_CVMFS_DIR='${cvmfs}'\n`);
    expect((await check()).stdout).toContain(
      `CernvmUnhealthyReason = "repository ${cvmfs}/dead.test.invalid: No such file or directory"`,
    );
    await rm(path.join(cvmfs, 'dead.test.invalid'));
    expect((await check()).stdout).toContain('CernvmHealthy = True');
  });

  it('gives up on a repository whose stat hangs after the timeout', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    // A stat that never returns, as on a FUSE mount whose server is unreachable.
    await writeFile(path.join(bin, 'stat'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    await settings({ timeout: 1 });
    const startedAt = Date.now();
    const { stdout } = await check({ PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(stdout).toContain(`CernvmUnhealthyReason = "repository ${repository} does not answer within 1 s"`);
  }, 20_000);

  it('says unhealthy when scratch has less free space than the minimum', async () => {
    await settings({ minFreeMb: 1_073_741_824 });
    expect((await check()).stdout).toMatch(
      new RegExp(`CernvmUnhealthyReason = "scratch ${scratch} has \\d+ MB free, less than 1073741824 MB"`),
    );
  });

  it('says unhealthy when scratch takes no file', async () => {
    await rm(scratch, { recursive: true });
    expect((await check()).stdout).toContain(`CernvmUnhealthyReason = "scratch ${scratch} is not writable:`);
  });

  it('says unhealthy when the heartbeat is stale or missing', async () => {
    const old = new Date(Date.now() - 60_000);
    await utimes(path.join(pilotDir, HEARTBEAT_FILE), old, old);
    expect((await check()).stdout).toMatch(/CernvmUnhealthyReason = "heartbeat is \d+ s old \(more than 16 s\)"/);
    await rm(path.join(pilotDir, HEARTBEAT_FILE));
    expect((await check()).stdout).toContain('CernvmUnhealthyReason = "no heartbeat at');
  });
});
