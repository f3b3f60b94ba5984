import { afterAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type FlagSpec,
  RUNTIME_ERROR,
  STACK_FRAME,
  FakeSignals,
  argvPiece,
  isOneLine,
  oddValue,
  shelly,
} from '@docker-cernvm/cli-kit/testing';
import { FakePilotEngine } from '../testing/fake-pilot-engine.js';
import type { CliContext } from './context.js';
import { EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from './main.js';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Property tests of docker-cernvm-pilot in process, on the fake engine: any argv ends in exit 2 with exactly one
// error line, having made no engine request and written nothing, or in a run (render writes, run starts a
// pilot whose fake container exits 0). Never a stack trace, never a runtime error's text.

const tmp = await mkdtemp(path.join(tmpdir(), 'pilot-cli-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
const token = path.join(tmp, 'pool.token');
await writeFile(token, 'eyJhbGciOiJIUzI1NiJ9.x.y\n', { mode: 0o600 });
const config = path.join(tmp, 'pilot.yaml');
await writeFile(config, 'trustDomain: pool.example.org\ncpus: 2\n');
const site = path.join(tmp, 'site.conf');
await writeFile(site, 'NUM_CPUS = 1\n');

let counter = 0;
/** Directories the commands write: always a fresh one under the temp tree, so a refused run can be seen to write none. */
const outDir = fc.constant(null).map(() => path.join(tmp, 'w', `d${++counter}`));
const number = fc.oneof(fc.constantFrom('1', '2', '64', '2048', 'auto', '300'), oddValue());
const word = (...valid: string[]) => fc.oneof(fc.constantFrom(...valid), oddValue(), shelly());

const FLAGS: FlagSpec[] = [
  { name: 'out', value: outDir },
  { name: 'work-dir', value: outDir },
  { name: 'config', value: fc.oneof(fc.constantFrom(config, path.join(tmp, 'missing.yaml'), tmp), oddValue()) },
  { name: 'collector', value: word('127.0.0.1', 'localhost:9620', 'cm.example.org') },
  { name: 'trust-domain', value: word('pool.example.org') },
  { name: 'uid-domain', value: word('pool.example.org') },
  { name: 'slot-name', value: word('slot-1', 's') },
  { name: 'network', value: word('host', 'bridge') },
  { name: 'network-interface', value: word('192.0.2.10') },
  { name: 'ccb-address', value: word('cm.example.org:9618') },
  { name: 'start', value: word('True', 'TARGET.x == 1') },
  ...['cpus', 'memory-mb', 'disk-mb', 'idle-shutdown', 'max-lifetime', 'heartbeat'].map((name) => ({
    name,
    value: number,
  })),
  { name: 'attribute', value: fc.oneof(fc.constantFrom('A=1', 'B=x', 'Start=1', '=x', 'A'), oddValue()) },
  { name: 'site-config', value: fc.oneof(fc.constantFrom(site, path.join(tmp, 'missing.conf')), oddValue()) },
  { name: 'image', value: word('cernvm:4', 'missing:1') },
  { name: 'token-file', value: fc.oneof(fc.constantFrom(token, path.join(tmp, 'missing.token')), oddValue()) },
  { name: 'name', value: word('pilot-1') },
  { name: 'cpuset', value: word('0', '0-1', '1,3') },
  { name: 'keep', value: oddValue() },
  { name: 'json', value: oddValue() },
];

/** The valid core of each command, present in most runs so that the rest of the argv decides. */
const CORES: Record<string, fc.Arbitrary<string[]>> = {
  render: outDir.map((out) => [
    '--out',
    out,
    '--collector',
    '127.0.0.1',
    '--trust-domain',
    'pool.example.org',
    '--slot-name',
    's',
  ]),
  run: outDir.map((dir) => [
    '--image',
    'cernvm:4',
    '--token-file',
    token,
    '--work-dir',
    dir,
    '--collector',
    '127.0.0.1',
    '--trust-domain',
    'p.org',
  ]),
};

/**
 * A bare `--out` or `--work-dir` takes the next word as its value, whatever generated it (`--out -` wrote ./-): every
 * such word is replaced by a fresh directory in the temp tree, so that no run writes anywhere else.
 */
function confined(args: string[]): string[] {
  return args.map((word, i) =>
    i > 0 && /^--(?:out|work-dir)$/.test(args[i - 1]!) && !word.startsWith(tmp)
      ? path.join(tmp, 'w', `d${++counter}`)
      : word,
  );
}

const argv = fc
  .tuple(
    fc.constantFrom('render', 'run', 'frobnicate', ''),
    fc.boolean(),
    fc.array(argvPiece(FLAGS, ['render', 'run']), { maxLength: 5 }),
  )
  .chain(([command, withCore, pieces]) =>
    (withCore && CORES[command] ? CORES[command] : fc.constant<string[]>([])).map((core) => [
      ...(command ? [command] : []),
      ...core,
      ...pieces.flat(),
    ]),
  )
  .map(confined);

/** Every directory a run may have written, from the argv (`--out`, `--work-dir`, in either spelling). */
function writableDirs(args: readonly string[]): string[] {
  return args.flatMap((word, i) => {
    const inline = /^--(?:out|work-dir)=(.*)$/s.exec(word);
    if (inline) return [inline[1]!];
    return /^--(?:out|work-dir)$/.test(word) && args[i + 1] ? [args[i + 1]!] : [];
  });
}

describe('docker-cernvm-pilot: any argv', () => {
  it('exits 2 with one error line having asked and written nothing, or runs', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        const engine = new FakePilotEngine();
        let out = '';
        let err = '';
        const context: CliContext = {
          io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
          engine: () => engine,
          signals: new FakeSignals(),
        };
        const code = await runCli(args, context);
        seen.set(code, (seen.get(code) ?? 0) + 1);
        const where = { args, code, err };
        expect({ ...where, stack: STACK_FRAME.test(out + err), runtime: RUNTIME_ERROR.test(err) }).toEqual({
          ...where,
          stack: false,
          runtime: false,
        });
        if (code === EXIT_USAGE) {
          const lines = err.split('\n');
          expect({
            ...where,
            lines: lines.length,
            oneLine: isOneLine(lines[0]!),
            error: lines[0]!.startsWith('error: '),
          }).toEqual({
            ...where,
            lines: 2, // the line and the empty rest after its newline
            oneLine: true,
            error: true,
          });
          // The runner may be built (that asks for the engine object) before the token is checked; no request is made.
          expect({ ...where, engineCalls: engine.calls, out }).toEqual({ ...where, engineCalls: [], out: '' });
          const written = await Promise.all(
            writableDirs(args).map((dir) =>
              readdir(dir).then(
                () => dir,
                () => undefined,
              ),
            ),
          );
          expect({ ...where, written: written.filter(Boolean) }).toEqual({ ...where, written: [] });
        } else {
          // Render succeeded, or run ran its (fake) pilot: exit 0, or 1 for an engine failure, with no usage error.
          expect({ ...where, ok: code === EXIT_OK || /^error: /m.test(err) }).toEqual({ ...where, ok: true });
        }
      }),
      // A fixed seed: the counts below check that the inputs reach both sides, and an unlucky draw of 300 once left
      // too few valid ones (a flaky CI run). FC_SEED=<n> tries another draw.
      { numRuns: 300, seed: Number(process.env.FC_SEED ?? 20261128) },
    );
    expect(seen.get(EXIT_OK)).toBeGreaterThan(10);
    expect(seen.get(EXIT_USAGE)).toBeGreaterThan(50);
  });
});
