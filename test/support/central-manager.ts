import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { writeCentralManagerDir } from '../fixtures/central-manager-dir.mjs';
import { TEST_LABEL, docker, execIn } from './engine.js';
import { waitFor } from './wait.js';

/** The pool's trust domain in tests; the token's identity is condor@ this. */
export const TRUST_DOMAIN = 'pool.test.invalid';
/** The unprivileged account test jobs are submitted as (the schedd refuses root's jobs). */
const SUBMITTER = 'tester';

/** One test job: a shell command run by /bin/sh in a slot, its files kept under the central manager's jobs dir. */
export interface JobRequest {
  name: string;
  command: string;
  /** A ClassAd expression the slot must match (for example one slot's attribute). */
  requirements?: string;
  /** How many jobs of this kind (one cluster, procs 0…count−1, each its own output file). */
  count?: number;
  /** More submit description lines, e.g. `job_lease_duration = 20`. */
  submitLines?: readonly string[];
}

export interface JobEvent {
  code: string;
  text: string;
}

export interface SlotAd {
  Name: string;
  [attribute: string]: unknown;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** A collector, negotiator and schedd in one container from the HTCondor image, on 127.0.0.1 with a fresh key. */
export class CentralManager {
  private constructor(
    readonly container: Dockerode.Container,
    readonly dir: string,
    readonly collector: string,
    readonly tokenFile: string,
  ) {}

  /** On `engine` (the test's engine unless given: a pool with slots on podman keeps it on the host's Docker). */
  static async start(image: string, dir: string, engine: Dockerode = docker): Promise<CentralManager> {
    const port = await freePort();
    await writeCentralManagerDir(dir, { port, trustDomain: TRUST_DOMAIN });
    const container = await engine.createContainer({
      name: `docker-cernvm-test-cm-${port}`,
      Image: image,
      Cmd: ['/cm/start.sh'],
      Env: ['CONDOR_CONFIG=/cm/condor_config'],
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { NetworkMode: 'host', Init: true, Binds: [`${dir}:/cm`] },
    });
    await container.start();
    const tokenFile = path.join(dir, 'pool.token');
    const manager = new CentralManager(container, dir, `127.0.0.1:${port}`, tokenFile);
    await waitFor(
      async () => (await manager.exec(['condor_status', '-collector', '-af', 'Name'])).exitCode === 0,
      60_000,
      'the collector',
    );
    const token = await waitFor(
      async () => {
        const made = await manager.exec(['condor_token_create', '-identity', `condor@${TRUST_DOMAIN}`, '-key', 'POOL']);
        return made.exitCode === 0 ? made.output.trim() : undefined;
      },
      30_000,
      'a pool token',
    );
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    return manager;
  }

  exec(command: string[], user = 'root') {
    return execIn(this.container, command, user);
  }

  /** Slot ads the collector holds, with the attributes asked for. */
  async slots(attributes: readonly string[] = ['Name', 'Cpus', 'Memory', 'State', 'Activity']): Promise<SlotAd[]> {
    const result = await this.exec([
      'condor_status',
      '-slots',
      '-json',
      '-attributes',
      ['Name', ...attributes].join(','),
    ]);
    if (result.exitCode !== 0) throw new Error(`condor_status failed: ${result.output}`);
    const text = result.output.trim();
    return text ? (JSON.parse(text) as SlotAd[]) : [];
  }

  /** Submits the job as the test account and asks the negotiator to match at once; returns the cluster id. */
  async submit(job: JobRequest): Promise<number> {
    const jobDir = path.join(this.dir, 'jobs', job.name);
    await mkdir(jobDir, { recursive: true });
    await chmod(jobDir, 0o777);
    const submit = [
      'executable = /bin/sh',
      `arguments = "-c '${job.command.replace(/'/g, "''").replace(/"/g, '""')}'"`,
      `output = /cm/jobs/${job.name}/out${job.count ? '.$(Process)' : ''}`,
      `error = /cm/jobs/${job.name}/err${job.count ? '.$(Process)' : ''}`,
      `log = /cm/jobs/${job.name}/log`,
      'should_transfer_files = YES',
      'when_to_transfer_output = ON_EXIT',
      ...(job.requirements ? [`requirements = ${job.requirements}`] : []),
      ...(job.submitLines ?? []),
      job.count ? `queue ${job.count}` : 'queue',
      '',
    ].join('\n');
    await writeFile(path.join(jobDir, 'job.sub'), submit, { mode: 0o644 });
    const submitted = await this.exec(
      ['sh', '-c', `cd /cm/jobs/${job.name} && condor_submit -terse job.sub`],
      SUBMITTER,
    );
    const cluster = /^(\d+)\.0/m.exec(submitted.output)?.[1];
    if (submitted.exitCode !== 0 || !cluster) throw new Error(`condor_submit failed: ${submitted.output}`);
    await this.exec(['condor_reschedule'], SUBMITTER);
    return Number(cluster);
  }

  /** The job's user log as events: 001 executing, 004 evicted, 005 terminated, 009 aborted, 012 held, ... */
  async events(jobName: string): Promise<JobEvent[]> {
    const text = await readFile(path.join(this.dir, 'jobs', jobName, 'log'), 'utf8').catch(() => '');
    return text
      .split('...\n')
      .map((block) => block.trim())
      .filter(Boolean)
      .map((block) => ({ code: block.slice(0, 3), text: block }));
  }

  async jobOutput(jobName: string): Promise<string> {
    return readFile(path.join(this.dir, 'jobs', jobName, 'out'), 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    await this.container.remove({ force: true }).catch(() => undefined);
  }
}
