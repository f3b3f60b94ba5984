import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { docker } from './engine.js';

// From the package's entry, as node resolves it.
const FACTORY_DIR = path.dirname(path.dirname(createRequire(import.meta.url).resolve('@docker-cernvm/factory')));
/** The command as the package installs it (its `bin`), run by this node. */
export const FACTORY_BIN = path.join(
  FACTORY_DIR,
  (JSON.parse(readFileSync(path.join(FACTORY_DIR, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin[
    'docker-cernvm-factory'
  ] ?? '',
);

export interface LogLine {
  level: string;
  event: string;
  [field: string]: unknown;
}

/** `docker-cernvm-factory` as a real process (the tests SIGKILL it), logging JSON lines on stderr. */
export class FactoryProcess {
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [FACTORY_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.child.stdout!.resume();
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Its process id (a test's stand-in for `systemctl reload` signals it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get output(): string {
    return this.stderr;
  }

  /** The JSON log lines so far (non-JSON lines, like a usage error, are skipped). */
  logs(): LogLine[] {
    return this.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Its exit, or a failure showing the last log lines when it has not ended within `ms`. */
  async exitWithin(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const tail = this.stderr.trimEnd().split('\n').slice(-40).join('\n');
        reject(new Error(`the factory did not exit within ${ms} ms; its last lines:\n${tail}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exit, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Where a test factory keeps its state, its token and its socket. */
export interface TestFactorySetup {
  name: string;
  dir: string;
  tokenFile: string;
  image: string;
}

export const socketOf = (setup: TestFactorySetup) => path.join(setup.dir, `${setup.name}.sock`);

/**
 * `start` (with `--slots` unless undefined: then from a --config file) with the slot image's own command, no pinning, small slots, JSON logs, its socket in the test directory
 * and HTTP on a free port of 127.0.0.1 (the `factory-starting` log line says which).
 */
export function startTestFactory(
  setup: TestFactorySetup,
  slots: number | undefined,
  extra: readonly string[] = [],
  env: Record<string, string> = {},
): FactoryProcess {
  return new FactoryProcess(
    [
      'start',
      '--name',
      setup.name,
      ...(slots === undefined ? [] : ['--slots', String(slots)]),
      '--image',
      setup.image,
      '--slot-command',
      'image',
      '--token-file',
      setup.tokenFile,
      '--state-dir',
      path.join(setup.dir, 'state'),
      '--scratch-dir',
      path.join(setup.dir, 'scratch'),
      '--socket',
      socketOf(setup),
      '--listen',
      '127.0.0.1:0',
      '--no-pin',
      '--memory-mb',
      '64',
      '--log-format',
      'json',
      ...extra,
    ],
    env,
  );
}

/** Runs `docker-cernvm-factory <args>` to its end: exit code and output. */
export async function factoryCommand(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [FACTORY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** One request to a factory's control socket, answered as parsed JSON (fast enough to poll). */
export function controlRequest(
  socketPath: string,
  request: unknown,
): Promise<{ ok: boolean; result?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(JSON.parse(answer) as { ok: boolean }));
    socket.on('error', reject);
    socket.on('connect', () => socket.end(`${JSON.stringify(request)}\n`));
  });
}

export interface SlotContainer {
  id: string;
  slot: number;
  state: string;
  templateHash: string;
  /** When the engine made it (epoch seconds). */
  created: number;
}

/** What the engine shows for a factory: its containers, by slot. */
export async function slotContainers(factory: string, engine: Dockerode = docker): Promise<SlotContainer[]> {
  const list = await engine.listContainers({ all: true, filters: { label: [`org.docker-cernvm.factory=${factory}`] } });
  return list
    .map((c) => ({
      id: c.Id,
      slot: Number(c.Labels['org.docker-cernvm.slot']),
      state: c.State,
      templateHash: c.Labels['org.docker-cernvm.template-hash'] ?? '',
      created: c.Created,
    }))
    .sort((a, b) => a.slot - b.slot);
}

export async function removeFactoryContainers(factory: string, engine: Dockerode = docker): Promise<void> {
  for (const c of await slotContainers(factory, engine))
    await engine
      .getContainer(c.id)
      .remove({ force: true })
      .catch(() => undefined);
}

export { waitFor } from './wait.js';
