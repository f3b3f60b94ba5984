import type { PilotContainerSpec } from '../container-spec.js';
import type { PilotEngine } from '../docker-api.js';

/** An engine with one pilot container at most, run by hand: a test decides when it exits and with which code. */
export class FakePilotEngine implements PilotEngine {
  readonly calls: string[] = [];
  readonly created: PilotContainerSpec[] = [];
  /** Signals sent to the container, in order. */
  readonly signals: string[] = [];
  readonly images = new Set<string>(['cernvm:4']);
  readonly containers = new Set<string>();
  /** The exit code wait() resolves with at once; undefined: wait() resolves when exit() is called. */
  exitCode: number | undefined = 0;
  /** What the container prints before it exits. */
  output = { stdout: '', stderr: '' };
  /** Runs inside create(), before it returns (to look at the host as the engine would see it). */
  onCreate: ((spec: PilotContainerSpec) => Promise<void> | void) | undefined;
  startError: Error | undefined;
  private finish: ((code: number) => void) | undefined;
  private markWaiting: (() => void) | undefined;
  /** Resolves once the runner waits for the container: it has started and its signal handlers are in place. */
  readonly waiting = new Promise<void>((resolve) => (this.markWaiting = resolve));

  async imageExists(name: string): Promise<boolean> {
    this.calls.push(`imageExists ${name}`);
    return this.images.has(name);
  }

  async containerExists(name: string): Promise<boolean> {
    this.calls.push(`containerExists ${name}`);
    return this.containers.has(name);
  }

  async create(spec: PilotContainerSpec): Promise<string> {
    this.calls.push(`create ${spec.name}`);
    this.created.push(spec);
    await this.onCreate?.(spec);
    this.containers.add(spec.name);
    return `id-${spec.name}`;
  }

  async start(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    if (this.startError) throw this.startError;
  }

  async followLogs(id: string, stdout: (text: string) => void, stderr: (text: string) => void): Promise<void> {
    this.calls.push(`logs ${id}`);
    if (this.output.stdout) stdout(this.output.stdout);
    if (this.output.stderr) stderr(this.output.stderr);
  }

  async signal(id: string, signal: string): Promise<void> {
    this.signals.push(signal);
    this.calls.push(`signal ${id} ${signal}`);
  }

  async wait(id: string): Promise<number> {
    this.calls.push(`wait ${id}`);
    this.markWaiting?.();
    if (this.exitCode !== undefined) return this.exitCode;
    return new Promise<number>((resolve) => (this.finish = resolve));
  }

  /** Ends the running container with this code. */
  exit(code: number): void {
    if (!this.finish) throw new Error('nobody waits for the container');
    this.finish(code);
  }

  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    this.containers.delete(id.replace(/^id-/, ''));
  }
}
