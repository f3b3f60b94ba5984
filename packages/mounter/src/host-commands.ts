import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { MounterError } from './errors.js';

const execFileAsync = promisify(execFile);

/** The host side effects the mounter needs. The only module that runs host commands. */
export interface HostCommands {
  /** Runs a command with arguments (never through a shell) and fails with its stderr. */
  run(command: string, args: readonly string[]): Promise<void>;
  /** Like run, and returns what the command printed on stdout. */
  output(command: string, args: readonly string[]): Promise<string>;
  /** The kernel's mount table for this process, as /proc/self/mountinfo text. */
  readMountInfo(): Promise<string>;
}

export class SystemHostCommands implements HostCommands {
  async run(command: string, args: readonly string[]): Promise<void> {
    await this.output(command, args);
  }

  async output(command: string, args: readonly string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync(command, [...args], { timeout: 120_000, maxBuffer: 1 << 20 });
      return stdout;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MounterError('E_COMMAND_FAILED', `${command} is not installed here (not found on PATH)`, { cause });
      }
      const stderr = (cause as { stderr?: string }).stderr?.trim();
      const reason = stderr || (cause as Error).message;
      throw new MounterError('E_COMMAND_FAILED', `${command} ${args.join(' ')} failed: ${reason}`, { cause });
    }
  }

  readMountInfo(): Promise<string> {
    return readFile('/proc/self/mountinfo', 'utf8');
  }
}
