import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import Dockerode from 'dockerode';
import { EngineBridge, unmountUnder } from './engine-bridge.js';
import { waitFor } from './wait.js';

/**
 * A second Docker engine of the host's own dockerd binary, with its own data root, exec root and socket, that a test
 * may stop and start at will (the fault tests restart it under a running factory) without touching the engine
 * everything else uses. A bridge of its own and no iptables: its containers use the host network like every test
 * container. Stopped, it leaves nothing: no bridge, nothing mounted under its roots.
 */
export class PrivateEngine {
  static readonly DATA_ROOT = '/var/lib/docker-cernvm-it-engine';
  static readonly EXEC_ROOT = '/run/docker-cernvm-it-engine';
  static readonly SOCKET = '/run/docker-cernvm-it-engine.sock';
  static readonly PIDFILE = '/run/docker-cernvm-it-engine.pid';
  static readonly LOG = '/var/log/docker-cernvm-it-engine.log';
  /** Its own name and /24 (scripts/docker26.sh has 10.213.26.0/24). */
  static readonly BRIDGE = new EngineBridge('dcvm-it-engine', '10.213.1.1/24');

  readonly host = `unix://${PrivateEngine.SOCKET}`;
  readonly docker = new Dockerode({ socketPath: PrivateEngine.SOCKET });
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  /** Starts it (ending first an engine of this same data root that an interrupted run left) and waits until it answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error('the private engine is already running');
    await this.endLeftover();
    await PrivateEngine.BRIDGE.up();
    await mkdir(PrivateEngine.DATA_ROOT, { recursive: true });
    const log = openSync(PrivateEngine.LOG, 'a');
    const child = spawn(
      'dockerd',
      [
        `--data-root=${PrivateEngine.DATA_ROOT}`,
        `--exec-root=${PrivateEngine.EXEC_ROOT}`,
        `--pidfile=${PrivateEngine.PIDFILE}`,
        `--host=${this.host}`,
        `--bridge=${PrivateEngine.BRIDGE.name}`,
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
        if (child.exitCode !== null)
          throw new Error(`the private engine exited with ${child.exitCode}; see ${PrivateEngine.LOG}`);
        return this.docker
          .ping()
          .then(() => true)
          .catch(() => undefined);
      },
      60_000,
      'the private engine to answer',
    );
  }

  /** Stops it the way a service manager does (SIGTERM: dockerd stops its containers, then exits) and waits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await this.exited;
    this.child = undefined;
    await PrivateEngine.cleanUp();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * An engine of this data root is only ever one a test started; an interrupted run may have left it running, or
   * killed it and left its mounts and bridge.
   */
  private async endLeftover(): Promise<void> {
    if (existsSync(PrivateEngine.PIDFILE)) {
      const pid = Number((await readFile(PrivateEngine.PIDFILE, 'utf8')).trim());
      const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (pid > 0 && command.includes(PrivateEngine.DATA_ROOT)) {
        process.kill(pid, 'SIGTERM');
        await waitFor(async () => !existsSync(`/proc/${pid}`), 60_000, `the leftover private engine ${pid} to stop`);
      }
      await rm(PrivateEngine.PIDFILE, { force: true });
    }
    await PrivateEngine.cleanUp();
  }

  /** What a stopped dockerd leaves: its network namespace mounted under its exec root (and, if killed, more). */
  private static async cleanUp(): Promise<void> {
    await unmountUnder([PrivateEngine.EXEC_ROOT, PrivateEngine.DATA_ROOT]);
    await PrivateEngine.BRIDGE.down();
  }
}
