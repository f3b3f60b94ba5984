import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import Dockerode from 'dockerode';
import { EngineBridge, unmountUnder } from './engine-bridge.js';
import { waitFor } from './wait.js';

/**
 * A second Docker engine of the host's own dockerd binary, with its own data root, exec root and socket, that a test
 * may stop and start at will (the fault tests restart it under a running factory) without touching the engine
 * everything else uses. A bridge of its own and no iptables: its containers use the host network like every test
 * container. Stopped, it leaves nothing: no bridge, nothing mounted under its roots. Several may run side by side
 * (the fleet test), each of its own name and /24.
 */
export class PrivateEngine {
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly log: string;
  readonly bridge: EngineBridge;
  readonly host: string;
  readonly docker: Dockerode;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  /**
   * `name` makes its paths (/var/lib/docker-cernvm-<name>, …) and its bridge `dcvm-<name>` (at most 10 characters);
   * `bridgeAddress` is a /24 of its own (docs/testing.md lists them). The defaults are the fault tests' engine.
   */
  constructor(
    readonly name = 'it-engine',
    bridgeAddress = '10.213.1.1/24',
  ) {
    if (name.length > 10) throw new Error(`private engine name "${name}": at most 10 characters (its bridge name)`);
    this.dataRoot = `/var/lib/docker-cernvm-${name}`;
    this.execRoot = `/run/docker-cernvm-${name}`;
    this.socket = `/run/docker-cernvm-${name}.sock`;
    this.pidFile = `/run/docker-cernvm-${name}.pid`;
    this.log = `/var/log/docker-cernvm-${name}.log`;
    this.bridge = new EngineBridge(`dcvm-${name}`, bridgeAddress);
    this.host = `unix://${this.socket}`;
    this.docker = new Dockerode({ socketPath: this.socket });
  }

  /** Starts it (ending first an engine of this same data root that an interrupted run left) and waits until it answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`the private engine ${this.name} is already running`);
    await this.endLeftover();
    await this.bridge.up();
    await this.spawn();
  }

  /** Stops it the way a service manager does (SIGTERM: dockerd stops its containers, then exits) and waits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await this.exited;
    this.child = undefined;
    await this.cleanUp();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Stops it as a host failure would: SIGKILL to dockerd, its containerd and shims, and every container's init (which
   * takes the rest of its PID namespace with it). What is mounted under its data root stays, as on a crashed host
   * (docker-cernvm's binds over placeholder layers among it), so `startAfterKill` finds the images as they were.
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const inits = await Promise.all(
      (await this.docker.listContainers()).map(async (c) => (await this.docker.getContainer(c.Id).inspect()).State.Pid),
    );
    const helpers = await this.processesNaming(this.execRoot);
    child.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
    for (const pid of [...helpers, ...inits]) if (pid > 0) signalIfAlive(pid, 'SIGKILL');
    await waitFor(
      async () => [...helpers, ...inits].every((pid) => !existsSync(`/proc/${pid}`)),
      30_000,
      `the killed engine ${this.name}'s processes to end`,
    );
  }

  /** Starts it again after `kill`: only what dockerd itself mounted is undone (exec root, container file systems). */
  async startAfterKill(): Promise<void> {
    if (this.child) throw new Error(`the private engine ${this.name} is already running`);
    await rm(this.pidFile, { force: true });
    await unmountUnder([this.execRoot, `${this.dataRoot}/containers`]);
    const merged = (await readdir(`${this.dataRoot}/overlay2`).catch(() => [] as string[])).map(
      (layer) => `${this.dataRoot}/overlay2/${layer}/merged`,
    );
    await unmountUnder(merged);
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    await mkdir(this.dataRoot, { recursive: true });
    const log = openSync(this.log, 'a');
    const child = spawn(
      'dockerd',
      [
        `--data-root=${this.dataRoot}`,
        `--exec-root=${this.execRoot}`,
        `--pidfile=${this.pidFile}`,
        `--host=${this.host}`,
        `--bridge=${this.bridge.name}`,
        '--iptables=false',
        '--ip-masq=false',
        '--ip6tables=false',
      ],
      { stdio: ['ignore', log, log] },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`the private engine ${this.name} exited with ${child.exitCode}; see ${this.log}`);
        return this.docker
          .ping()
          .then(() => true)
          .catch(() => undefined);
      },
      60_000,
      `the private engine ${this.name} to answer`,
    );
  }

  /** Processes whose command line names this path: the engine's containerd and shims (they get its exec root). */
  private async processesNaming(text: string): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === this.child?.pid) continue;
      const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (command.includes(text)) pids.push(Number(entry));
    }
    return pids;
  }

  /**
   * An engine of this data root is only ever one a test started; an interrupted run may have left it running, or
   * killed it and left its mounts and bridge.
   */
  private async endLeftover(): Promise<void> {
    if (existsSync(this.pidFile)) {
      const pid = Number((await readFile(this.pidFile, 'utf8')).trim());
      const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (pid > 0 && command.includes(this.dataRoot)) {
        process.kill(pid, 'SIGTERM');
        await waitFor(async () => !existsSync(`/proc/${pid}`), 60_000, `the leftover private engine ${pid} to stop`);
      }
      await rm(this.pidFile, { force: true });
    }
    await this.cleanUp();
  }

  /** What a stopped dockerd leaves: its network namespace mounted under its exec root (and, if killed, more). */
  private async cleanUp(): Promise<void> {
    await unmountUnder([this.execRoot, this.dataRoot]);
    await this.bridge.down();
  }
}

function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone: what the kill is for.
  }
}
