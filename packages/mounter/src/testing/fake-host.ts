import type { HostCommands } from '../host-commands.js';
import { MounterError } from '../errors.js';
import type { FakeContainerd } from './fake-containerd.js';
import { type MountEntry, identityOfPath, parseMountInfo } from '../mountinfo.js';

function escape(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * A host whose mount table lives in memory: mount --bind, remount read-only, mount -t cvmfs, cvmfs2 and umount
 * change it as the kernel would. Paths are real (the tests create the trees); only the mounts are pretend.
 */
export class FakeHost implements HostCommands {
  readonly calls: string[] = [];
  private entries: MountEntry[] = [];
  private nextId = 100;
  private nextFuseDevice = 50;
  /** Makes the matching command fail, as a real mount would. */
  failWhen: (command: string, args: readonly string[]) => boolean = () => false;
  /** What `ctr` talks to; without it, ctr is not installed here. */
  containerd: FakeContainerd | undefined;
  ctrCommand = 'ctr';

  constructor() {
    this.add({ device: '8:1', root: '/', mountPoint: '/', options: ['rw'], fsType: 'ext4', source: '/dev/vda' });
  }

  get table(): MountEntry[] {
    return [...this.entries];
  }

  /** Adds a mount made by someone else (the site's autofs, a leftover from an interrupted run). */
  add(entry: Omit<MountEntry, 'id' | 'parentId' | 'deleted'> & { deleted?: boolean }): void {
    this.entries.push({ id: this.nextId++, parentId: 1, deleted: false, ...entry });
  }

  async output(command: string, args: readonly string[]): Promise<string> {
    if (command !== this.ctrCommand) {
      await this.run(command, args);
      return '';
    }
    this.calls.push([command, ...args].join(' '));
    if (!this.containerd) {
      const cause = Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' });
      throw new MounterError('E_COMMAND_FAILED', `${command} is not installed here (not found on PATH)`, { cause });
    }
    if (this.failWhen(command, args)) {
      throw new MounterError('E_COMMAND_FAILED', `${command} ${args.join(' ')} failed: simulated`);
    }
    return this.containerd.handle(args);
  }

  async run(command: string, args: readonly string[]): Promise<void> {
    if (command === this.ctrCommand) {
      await this.output(command, args);
      return;
    }
    this.calls.push([command, ...args].join(' '));
    if (this.failWhen(command, args)) {
      throw new MounterError('E_COMMAND_FAILED', `${command} ${args.join(' ')} failed: simulated`);
    }
    const [a, b, c, d] = args;
    if (command === 'mount' && a === '--bind' && b && c) {
      const identity = identityOfPath(this.entries, b);
      if (!identity) throw new Error(`fake: nothing holds ${b}`);
      this.add({ ...identity, mountPoint: c, options: ['rw'], fsType: 'ext4', source: '/dev/vda' });
    } else if (command === 'mount' && a === '-o' && b === 'remount,bind,ro' && c) {
      const entry = this.entries.findLast((e) => e.mountPoint === c);
      if (!entry) throw new MounterError('E_COMMAND_FAILED', `mount: ${c}: not mounted`);
      entry.options = ['ro'];
    } else if (command === 'mount' && a === '-t' && b === 'cvmfs' && c && d) {
      this.addFuse(d);
    } else if (command === 'umount' && a) {
      const index = this.entries.findLastIndex((e) => e.mountPoint === a);
      if (index === -1) throw new MounterError('E_COMMAND_FAILED', `umount: ${a}: not mounted`);
      this.entries.splice(index, 1);
    } else if (command.endsWith('cvmfs2') && args.length === 4 && d) {
      this.addFuse(d);
    } else {
      throw new Error(`fake host: unexpected command ${command} ${args.join(' ')}`);
    }
  }

  private addFuse(mountPoint: string): void {
    this.add({
      device: `0:${this.nextFuseDevice++}`,
      root: '/',
      mountPoint,
      options: ['ro'],
      fsType: 'fuse',
      source: 'cvmfs2',
    });
  }

  async readMountInfo(): Promise<string> {
    return this.entries
      .map(
        (e) =>
          `${e.id} ${e.parentId} ${e.device} ${escape(e.root)}${e.deleted ? '//deleted' : ''} ${escape(e.mountPoint)} ` +
          `${e.options.join(',')} shared:1 - ${e.fsType} ${e.source} rw`,
      )
      .join('\n');
  }

  /** Sanity check for the fake itself: the text it serves parses back into its table. */
  parsed(): Promise<MountEntry[]> {
    return this.readMountInfo().then(parseMountInfo);
  }
}
