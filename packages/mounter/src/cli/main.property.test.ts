import { afterAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DockerApi } from '../docker-api.js';
import { MountOps } from '../mount-ops.js';
import { Mounter } from '../mounter.js';
import { checkRepository, checkRootPath, checkSnapshot, parseImageRef } from '../names.js';
import { RepositoryLocator } from '../repository.js';
import {
  type FlagSpec,
  RUNTIME_ERROR,
  STACK_FRAME,
  anyName,
  argvOf,
  isOneLine,
  oddValue,
  pathLike,
  shelly,
} from '@docker-cernvm/cli-kit/testing';
import { FakeEngine } from '../testing/fake-engine.js';
import { FakeHost } from '../testing/fake-host.js';
import type { CliContext } from './context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from './main.js';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Property tests of the whole command line, in process, on the fake host and engine: any argv ends in exit 0, in
// exit 1 with one error line last, or in exit 2 with exactly one error line and not one host command or engine call.

const tmp = await mkdtemp(path.join(tmpdir(), 'cli-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
await mkdir(path.join(tmp, 'cvmfs', 'cernvm-prod.cern.ch', 'cvm4', 'bin'), { recursive: true });
await writeFile(path.join(tmp, 'cvmfs', 'cernvm-prod.cern.ch', 'cvm4', '.installed_cernvm-system-4.7.1.0'), '');
await mkdir(path.join(tmp, 'docker'));

/** Every directory option points into the temp tree (a directory a mount would create must not land on the host). */
const DIRS = ['--cvmfs-dir', 'cvmfs', '--mount-base', 'mnt', '--state-dir', 'state', '--cvmfs-config-dir', 'etc'];
const base = DIRS.map((word, i) => (i % 2 ? path.join(tmp, word) : word));

/** A directory option's value: inside the temp tree, or one that is refused (never an absolute path elsewhere). */
const dirValue = fc.oneof(
  fc.constantFrom(...DIRS.filter((_, i) => i % 2).map((d) => path.join(tmp, d)), path.join(tmp, 'other')),
  fc.oneof(oddValue(), pathLike()).filter((v) => !v.startsWith('/')),
  fc.constantFrom(`${tmp}/a,b`, `${tmp}/a b`, `${tmp}/../x`, `${tmp}/$(id)`, `${tmp}/"x`),
);

const names = {
  tag: fc.oneof(fc.constantFrom('cernvm:4', 'cernvm:4.7', 'site/cernvm:prod'), anyName(fc.constant('cernvm:4'))),
  repository: fc.oneof(
    fc.constantFrom('cernvm-prod.cern.ch', 'sft.cern.ch'),
    anyName(fc.constant('cernvm-prod.cern.ch')),
  ),
  snapshot: fc.oneof(fc.constantFrom('cernvm-system-4.7.1.0', 'snap-1'), anyName(fc.constant('snap-1'))),
  root: fc.oneof(fc.constantFrom('cvm4', 'cvm3', 'cvm4/bin'), anyName(fc.constant('cvm4'))),
};

const FLAGS: FlagSpec[] = [
  { name: 'json', value: oddValue() },
  { name: 'cvmfs-dir', value: dirValue },
  { name: 'mount-base', value: dirValue },
  { name: 'state-dir', value: dirValue },
  { name: 'cvmfs-config-dir', value: dirValue },
  { name: 'cvmfs2', value: fc.oneof(fc.constant('cvmfs2'), oddValue()) },
  { name: 'tag', value: names.tag },
  { name: 'repository', value: names.repository },
  { name: 'branch', value: names.repository },
  { name: 'snapshot', value: names.snapshot },
  { name: 'root', value: names.root },
  { name: 'server-url', value: fc.oneof(fc.constant('http://example.org/cvmfs/@fqrn@'), oddValue(), shelly()) },
  { name: 'keys-url', value: fc.oneof(fc.constant('https://example.org/@fqrn@.pub'), oddValue(), shelly()) },
  { name: 'bogus', value: oddValue() },
];
const COMMANDS = [
  'register',
  'mount',
  'unmount-all',
  'umount-all',
  'status',
  'snapshots',
  'setup-repo',
  'prune',
  'frobnicate',
];

/** A fake engine that also counts the calls FakeEngine does not record (inspect, list, containersUsing). */
function counted(engine: FakeEngine): { engine: DockerApi; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(engine, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { engine: proxy, calls };
}

interface Run {
  code: number;
  out: string;
  err: string;
  hostCalls: string[];
  engineCalls: string[];
}

async function run(args: string[]): Promise<Run> {
  const host = new FakeHost();
  const { engine, calls: engineCalls } = counted(new FakeEngine(path.join(tmp, 'docker')));
  let out = '';
  let err = '';
  const context: CliContext = {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
    createMounter: (settings) => {
      const mounts = new MountOps(host, { cvmfs2Command: settings.cvmfs2Command });
      return new Mounter({
        docker: engine,
        mounts,
        repositories: new RepositoryLocator(mounts, settings.paths),
        reporter: settings.reporter,
      });
    },
  };
  // setup-repo writes /etc/cvmfs files and fetches a key over the network unless it is a dry run: here it always is.
  // A bare directory flag takes the next word as its value, whatever generated it: an absolute one outside the temp
  // tree is moved into it, so that no mount point or state directory is made elsewhere.
  const safe = args
    .filter((word) => !/dry/i.test(word))
    .map((word, i, all) =>
      i > 0 &&
      /^--(?:cvmfs-dir|mount-base|state-dir|cvmfs-config-dir)$/.test(all[i - 1]!) &&
      word.startsWith('/') &&
      !word.startsWith(tmp)
        ? path.join(tmp, 'other')
        : word,
    );
  const code = await runCli([...base, ...safe, ...(safe.includes('setup-repo') ? ['--dry-run'] : [])], context);
  return { code, out, err, hostCalls: host.calls, engineCalls };
}

/** The contract every run keeps, whatever the arguments. */
function expectContract(result: Run, args: string[]): void {
  const { code, out, err, hostCalls, engineCalls } = result;
  const context = `argv ${JSON.stringify(args)} → exit ${code}, stderr ${JSON.stringify(err)}`;
  expect([EXIT_OK, EXIT_FAILURE, EXIT_USAGE]).toContain(code);
  expect({ context, stack: STACK_FRAME.test(out + err) }).toEqual({ context, stack: false });
  expect({ context, runtimeError: RUNTIME_ERROR.test(err) }).toEqual({ context, runtimeError: false });
  const lines = err.split('\n').slice(0, -1);
  if (code === EXIT_USAGE) {
    expect({ context, lines: lines.length, oneLine: isOneLine(lines[0] ?? '') }).toEqual({
      context,
      lines: 1,
      oneLine: true,
    });
    expect(err).toMatch(/^error: \S/);
    expect({ context, hostCalls, engineCalls, out }).toEqual({ context, hostCalls: [], engineCalls: [], out: '' });
  } else if (code === EXIT_FAILURE) {
    expect({ context, last: lines.at(-1)?.startsWith('error: ') }).toEqual({ context, last: true });
    expect(lines.filter((line) => line.startsWith('error: '))).toHaveLength(1);
  } else {
    expect({ context, error: /^error: /m.test(err) }).toEqual({ context, error: false });
  }
}

describe('docker-cernvm: any argv', () => {
  it('exits 0, 1 with one error line, or 2 with one error line having called nothing', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(argvOf(COMMANDS, FLAGS), async (args) => {
        const result = await run(args);
        seen.set(result.code, (seen.get(result.code) ?? 0) + 1);
        expectContract(result, args);
      }),
      { numRuns: 200 },
    );
    // The generator reaches success, failure and refusal, or the property would prove little.
    expect(seen.get(EXIT_OK)).toBeGreaterThan(5);
    expect(seen.get(EXIT_USAGE)).toBeGreaterThan(50);
  });

  /** A command with valid arguments, and which of its flags take which kind of name. */
  const WITH_NAMES: [command: string[], flag: string, check: (value: string) => unknown][] = [
    [['register', '--tag', 'cernvm:4'], '--repository', checkRepository],
    [['register', '--tag', 'cernvm:4'], '--snapshot', checkSnapshot],
    [['register'], '--tag', parseImageRef],
    [['mount'], '--tag', parseImageRef],
    [['mount', '--tag', 'cernvm:4'], '--repository', checkRepository],
    [['mount', '--tag', 'cernvm:4'], '--snapshot', checkSnapshot],
    [['mount', '--tag', 'cernvm:4'], '--root', checkRootPath],
    [['unmount-all'], '--repository', checkRepository],
    [['unmount-all'], '--tag', parseImageRef],
    [['snapshots'], '--repository', checkRepository],
    [['setup-repo'], '--branch', checkRepository],
    [['setup-repo'], '--repository', checkRepository],
    [['setup-repo', '--repository', 'cernvm-prod.cern.ch'], '--snapshot', checkSnapshot],
  ];

  it('refuses a bad name for any command with exit 2, before any host command or engine call', async () => {
    const refused = (check: (value: string) => unknown) => (value: string) => {
      try {
        check(value);
        return false;
      } catch {
        return true;
      }
    };
    const cases = fc.constantFrom(...WITH_NAMES).chain(([command, flag, check]) =>
      anyName(fc.constantFrom('cernvm:4', 'cernvm-prod.cern.ch', 'cvm4'))
        .filter(refused(check))
        .map((value) => [...command, flag, value]),
    );
    await fc.assert(
      fc.asyncProperty(cases, async (args) => {
        const result = await run(args);
        expect({ args, code: result.code }).toEqual({ args, code: EXIT_USAGE });
        expectContract(result, args);
      }),
      { numRuns: 120 },
    );
  });

  it('setup-repo: whatever the options, the client configuration it would write holds only plain quoted values', async () => {
    // The file is sourced by a shell (cvmfs_config), so a quote, `$` or backquote in a value would run as code.
    const value = fc.oneof(
      oddValue(),
      shelly(),
      fc.string({ maxLength: 10 }).map((s) => `/${s}`),
    );
    const args = fc.record(
      {
        // The valid value most often, so that a good part of the runs is accepted and its text can be looked at.
        '--cvmfs-config-dir': fc.oneof({ weight: 3, arbitrary: fc.constant(path.join(tmp, 'etc')) }, value),
        '--server-url': fc.oneof(
          { weight: 2, arbitrary: fc.constant('http://example.org/cvmfs/@fqrn@') },
          value,
          value.map((v) => `http://example.org/${v}`),
        ),
        '--keys-url': fc.oneof(
          { weight: 2, arbitrary: fc.constant('https://example.org/@fqrn@.pub') },
          value,
          value.map((v) => `https://example.org/${v}`),
        ),
        '--snapshot': names.snapshot,
      },
      { requiredKeys: [] },
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(args, async (options) => {
        const argv = ['setup-repo', '--json', '--repository', 'cernvm-prod.cern.ch', ...Object.entries(options).flat()];
        const result = await run(argv);
        expectContract(result, argv);
        if (result.code !== EXIT_OK) return;
        accepted++;
        const plan = JSON.parse(result.out) as { configText: string };
        for (const line of plan.configText.split('\n').filter(Boolean)) {
          expect({
            argv,
            line,
            plain: /^(?:#[ -~]*|[A-Z_]+="[^"$`\\\s]*"|CVMFS_CLAIM_OWNERSHIP=no)$/.test(line),
          }).toEqual({ argv, line, plain: true });
        }
      }),
      { numRuns: 100 },
    );
    expect(accepted).toBeGreaterThan(15);
  });
});
